/** Executions (api.md, "Executions"): start, read, list. */
import { TERMINAL_EXECUTION_STATUSES, EXECUTION_STATUSES } from '@weft/shared/engine';
import { WeftError, toWeftError } from '@weft/shared/errors';
import { executionJob } from '@weft/shared/jobs';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DEFAULT_PAGE_LIMIT, IdParamsSchema, PageQuerySchema, Uuid, errorResponses } from '../schemas/common-schemas.js';
import { loadExecutionView, summaryView } from '../services/execution-view.js';

const StartBody = Type.Object(
  {
    input: Type.Optional(Type.Unknown({ description: 'Available to templates as {{input.…}}' })),
    wait: Type.Optional(Type.Boolean({ description: 'Answer with the finished execution (200) if it ends within timeoutMs' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 120_000, default: 30_000 })),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'Flow version to run; default latest' })),
    maxCostUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);

const StartHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});

const Accepted = Type.Object({ executionId: Type.String(), status: Type.String() });
const ExecutionSchema = Type.Object({ id: Type.String(), status: Type.String() }, { additionalProperties: true, description: 'An execution (api.md)' });

const ListQuery = Type.Intersect([
  PageQuerySchema,
  Type.Object({
    flowId: Type.Optional(Uuid),
    status: Type.Optional(Type.Enum([...EXECUTION_STATUSES])),
  }),
]);

export const executionsRoutes: RoutePlugin = (app, { deps }) => {
  const { repos } = deps.database;
  const log = deps.logger.child({ component: 'executions' });

  app.post(
    '/v1/flows/:id/executions',
    {
      schema: {
        tags: ['executions'],
        summary: 'Start an execution of a flow',
        params: IdParamsSchema,
        headers: StartHeaders,
        body: Type.Optional(StartBody),
        response: { 200: ExecutionSchema, 202: Accepted, ...errorResponses },
      },
    },
    async (request, reply) => {
      const workspaceId = request.workspaceId;
      const body = request.body ?? {};
      const flow = await repos.flows.get({ workspaceId, flowId: request.params.id, ...(body.version ? { version: body.version } : {}) });
      if (!flow) throw notFound(body.version ? `flow ${request.params.id} version ${body.version}` : `flow ${request.params.id}`);

      const { execution, created } = await repos.executions.create({
        workspaceId,
        flowId: flow.id,
        flowVersion: flow.version,
        input: body.input ?? null,
        idempotencyKey: request.headers['idempotency-key'] ?? null,
        maxCostUsd: body.maxCostUsd ?? null,
      });
      // Register the waiter before enqueueing so a fast execution cannot end unseen.
      const waiter = body.wait ? app.hub.waitForEnd({ workspaceId, executionId: execution.id, timeoutMs: body.timeoutMs ?? 30_000 }) : null;
      try {
        if (created) {
          await deps.events.publish({
            type: 'execution.queued', executionId: execution.id, flowId: flow.id, workspaceId,
            at: execution.createdAt.toISOString(), data: { flowVersion: flow.version },
          });
        }
        // Also for an idempotent replay of a still-queued execution: heals a crash between
        // the insert and the enqueue (the job id dedupes).
        if (execution.status === 'queued') await deps.queue.add(executionJob({ executionId: execution.id, workspaceId }));
      } catch (err) {
        waiter?.cancel();
        log.error({ err, executionId: execution.id }, 'execution stored but not enqueued');
        throw new WeftError('DEPENDENCY_UNAVAILABLE', 'the queue is unavailable; retry with the same Idempotency-Key', { cause: toWeftError(err), retryAfterMs: 1000 });
      }
      if (created) {
        deps.metrics.executionsTotal.inc({ status: 'queued' });
        log.info({ executionId: execution.id, flowId: flow.id, flowVersion: flow.version }, 'execution queued');
      }

      if (waiter) {
        const alreadyOver = TERMINAL_EXECUTION_STATUSES.has(execution.status);
        const ended = alreadyOver || (await waiter.done);
        if (alreadyOver) waiter.cancel();
        if (ended) {
          const view = await loadExecutionView({ repos, state: deps.state, workspaceId, executionId: execution.id });
          if (view && TERMINAL_EXECUTION_STATUSES.has(view.status)) return reply.code(200).send(view);
        }
      }
      return reply.code(202).send({ executionId: execution.id, status: execution.status });
    },
  );

  app.get(
    '/v1/executions/:id',
    {
      schema: {
        tags: ['executions'],
        summary: 'Get an execution with its nodes, usage and cost',
        params: IdParamsSchema,
        response: { 200: ExecutionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const view = await loadExecutionView({ repos, state: deps.state, workspaceId: request.workspaceId, executionId: request.params.id });
      if (!view) throw notFound(`execution ${request.params.id}`);
      return view;
    },
  );

  app.get(
    '/v1/executions',
    {
      schema: {
        tags: ['executions'],
        summary: 'List executions, newest first',
        querystring: ListQuery,
        response: { 200: Type.Object({ items: Type.Array(ExecutionSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await repos.executions.list({
        workspaceId: request.workspaceId,
        limit: q.limit ?? DEFAULT_PAGE_LIMIT,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.flowId ? { flowId: q.flowId } : {}),
        ...(q.status ? { status: q.status } : {}),
      });
      return { items: page.items.map(summaryView), nextCursor: page.nextCursor };
    },
  );
  return Promise.resolve();
};
