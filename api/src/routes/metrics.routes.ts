/** Prometheus scrape endpoint, open (no key) like the health routes. */
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';

export const metricsRoutes: RoutePlugin = (app, { deps }) => {
  const { registry } = deps.metrics;
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text format)',
        response: { 200: { description: 'The metrics in the Prometheus text format', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
  return Promise.resolve();
};
