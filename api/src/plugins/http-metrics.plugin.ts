/**
 * Counts every answered request by method, route pattern and status, and observes its
 * duration. The route label is the pattern (`/v1/flows/:id`), never the raw URL, so its
 * cardinality stays bounded; unmatched requests share one label.
 */
import type { WeftMetrics } from '@weft/shared/metrics';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export const UNMATCHED_ROUTE = 'unmatched';

export function routeLabel(request: FastifyRequest): string {
  if (request.is404) return UNMATCHED_ROUTE;
  return request.routeOptions.url ?? UNMATCHED_ROUTE;
}

function httpMetricsPlugin(app: FastifyInstance, opts: { metrics: WeftMetrics }, done: (err?: Error) => void): void {
  const { metrics } = opts;
  app.addHook('onResponse', (request, reply, next) => {
    const route = routeLabel(request);
    metrics.httpRequestsTotal.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpRequestDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    next();
  });
  done();
}

export default fp(httpMetricsPlugin, { name: 'weft-http-metrics', fastify: '5.x' });
