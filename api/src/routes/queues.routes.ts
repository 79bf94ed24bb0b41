/**
 * `GET /v1/queues`: with a workspace key, the workspace's own work (its live executions by
 * status, from one index range in Postgres); with the admin token, the fleet's queue depths, for
 * dashboards and autoscaling checks. A workspace never sees the fleet's load.
 */
import { WeftError } from '@weft/shared/errors';
import { ALL_QUEUES } from '@weft/shared/ports';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { errorResponses } from '../schemas/common-schemas.js';

const Count = Type.Integer({ minimum: 0 });

const FleetQueues = Type.Object(
  {
    scope: Type.Literal('fleet'),
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
  },
  { description: 'With the admin token: jobs per queue and state, fleet-wide' },
);

const WorkspaceQueues = Type.Object(
  {
    scope: Type.Literal('workspace'),
    executions: Type.Object({ queued: Count, running: Count, waiting: Count }),
  },
  { description: "With a workspace key: the workspace's live executions by status" },
);

export const queuesRoutes: RoutePlugin = (app, { deps }) => {
  app.get(
    '/v1/queues',
    {
      config: { auth: 'workspace-or-admin' },
      schema: {
        tags: ['operations'],
        summary: "The workspace's live executions by status; fleet-wide jobs per queue with the admin token",
        security: [{ apiKey: [] }, { adminToken: [] }],
        response: { 200: Type.Union([WorkspaceQueues, FleetQueues]), ...errorResponses() },
      },
    },
    async (request) => {
      if (request.workspaceId !== '') {
        return { scope: 'workspace' as const, executions: await deps.database.repos.executions.countLive(request.workspaceId) };
      }
      try {
        const items = await Promise.all(ALL_QUEUES.map(async (queue) => ({ queue, ...(await deps.queue.counts(queue)) })));
        return { scope: 'fleet' as const, items };
      } catch (err) {
        throw new WeftError('DEPENDENCY_UNAVAILABLE', 'queue counts are unavailable, retry later', { cause: err });
      }
    },
  );
  return Promise.resolve();
};
