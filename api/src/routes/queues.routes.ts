/** Queue depth per queue, for dashboards and autoscaling checks. */
import { WeftError } from '@weft/shared/errors';
import { ALL_QUEUES } from '@weft/shared/ports';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { errorResponses } from '../schemas/common-schemas.js';

const Count = Type.Integer({ minimum: 0 });

const QueuesResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      queue: Type.String(),
      waiting: Count,
      active: Count,
      delayed: Count,
      completed: Count,
      failed: Count,
    }),
  ),
});

export const queuesRoutes: RoutePlugin = (app, { deps }) => {
  app.get(
    '/v1/queues',
    { schema: { tags: ['operations'], summary: 'Jobs per queue and state', response: { 200: QueuesResponse, ...errorResponses } } },
    async () => {
      try {
        const items = await Promise.all(ALL_QUEUES.map(async (queue) => ({ queue, ...(await deps.queue.counts(queue)) })));
        return { items };
      } catch (err) {
        throw new WeftError('DEPENDENCY_UNAVAILABLE', 'queue counts are unavailable, retry later', { cause: err });
      }
    },
  );
  return Promise.resolve();
};
