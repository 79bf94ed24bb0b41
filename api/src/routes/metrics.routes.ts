/** Prometheus scrape endpoint, open (no key) like the health routes. */
import type { RoutePlugin } from '../fastify-types.js';

export const metricsRoutes: RoutePlugin = (app, { deps }) => {
  const { registry } = deps.metrics;
  app.get(
    '/metrics',
    { schema: { tags: ['operations'], summary: 'Prometheus metrics (text format)', security: [], produces: ['text/plain'] } },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
  return Promise.resolve();
};
