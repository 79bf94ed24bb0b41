/**
 * Counts every answered request by method, route pattern and status, and observes its
 * duration. Every label is bounded whatever a client sends: the route label is the pattern
 * (`/v1/flows/:id`), never the raw URL, and unmatched requests share one label; the method is
 * one the api serves or `other` (Node's parser accepts some thirty more, PROPFIND, MKCOL…);
 * the status is a number the server chose.
 */
import type { WeftMetrics } from '@weft/shared/metrics';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export const UNMATCHED_ROUTE = 'unmatched';
export const OTHER_METHOD = 'other';
const SERVED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function methodLabel(method: string): string {
  return SERVED_METHODS.has(method) ? method : OTHER_METHOD;
}

export function routeLabel(request: FastifyRequest): string {
  if (request.is404) return UNMATCHED_ROUTE;
  return request.routeOptions.url ?? UNMATCHED_ROUTE;
}

function httpMetricsPlugin(app: FastifyInstance, opts: { metrics: WeftMetrics }, done: (err?: Error) => void): void {
  const { metrics } = opts;
  app.addHook('onResponse', (request, reply, next) => {
    const route = routeLabel(request);
    const method = methodLabel(request.method);
    metrics.httpRequestsTotal.inc({ method, route, status: String(reply.statusCode) });
    metrics.httpRequestDuration.observe({ method, route }, reply.elapsedTime / 1000);
    next();
  });
  done();
}

export default fp(httpMetricsPlugin, { name: 'weft-http-metrics', fastify: '5.x' });
