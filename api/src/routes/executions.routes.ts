/** Executions (api.md, "Executions"): start, read, list. */
import { TERMINAL_EXECUTION_STATUSES, EXECUTION_STATUSES } from '@weft/shared/engine';
import { safeEqual } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import { parseMapItemNodeId } from '@weft/shared/flow';
import { resumeJobId } from '@weft/shared/jobs';
import { endExecution, hashResumeToken } from '@weft/worker/control';
import { QUEUES } from '@weft/shared/ports';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { conflict, notFound } from '../plugins/error-handler.plugin.js';
import { DEFAULT_PAGE_LIMIT, IdParamsSchema, PageQuerySchema, Uuid, errorResponses } from '../schemas/common-schemas.js';
import { enqueueExecution } from '../services/enqueue-execution.js';
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
      const answer = await enqueueExecution({ deps, hub: app.hub, log, execution, created, waitTimeoutMs: body.wait ? body.timeoutMs ?? 30_000 : null });
      return reply.code(answer.code).send(answer.body);
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
  /**
   * Cancel: recorded first (an execution job that has not started then never starts), then hot
   * state (no node starts after it), then every worker aborts the execution's running calls.
   */
  const cancel = async (request: { workspaceId: string; params: { id: string } }): Promise<{ status: 'cancelled' }> => {
    const { workspaceId } = request;
    const executionId = request.params.id;
    const row = await repos.executions.get({ workspaceId, executionId });
    if (!row) throw notFound(`execution ${executionId}`);
    if (TERMINAL_EXECUTION_STATUSES.has(row.status)) throw conflict(`execution ${executionId} is already ${row.status}`);
    const at = deps.clock();
    const recordCancelled = (): Promise<void> =>
      repos.executions.finalize({ executionId, status: 'cancelled', output: null, error: null, usage: null, cost: null, startedAt: null, finishedAt: at });
    if (row.status === 'queued') await recordCancelled();
    const result = await endExecution(deps, { executionId, at });
    switch (result.kind) {
      case 'ended':
        // Hot state is ahead of the record (the flusher has not written the end yet).
        throw conflict(`execution ${executionId} is already ${result.status}`);
      case 'missing':
        // Never started (or its hot state is gone): the record is the whole truth.
        if (row.status !== 'queued') await recordCancelled();
        await deps.queue.remove(QUEUES.executions, executionId);
        await deps.events.publish({ type: 'execution.cancelled', executionId, flowId: row.flowId, workspaceId, at: at.toISOString(), data: { status: 'cancelled' } });
        break;
      case 'cancelled':
        break;
    }
    deps.metrics.executionsTotal.inc({ status: 'cancelled' });
    log.info({ executionId, running: result.kind === 'cancelled' ? result.running : [] }, 'execution cancelled');
    return { status: 'cancelled' };
  };

  const cancelSchema = {
    tags: ['executions'],
    params: IdParamsSchema,
    response: { 202: Type.Object({ status: Type.Literal('cancelled') }), ...errorResponses },
  };
  app.post('/v1/executions/:id/cancel', { schema: { ...cancelSchema, summary: 'Cancel an execution: no node starts, running calls are aborted' } }, async (request, reply) => reply.code(202).send(await cancel(request)));
  app.delete('/v1/executions/:id', { schema: { ...cancelSchema, summary: 'Cancel an execution (as POST …/cancel)' } }, async (request, reply) => reply.code(202).send(await cancel(request)));

  app.post(
    '/v1/executions/:id/retry',
    {
      schema: {
        tags: ['executions'],
        summary: 'Re-run a failed or cancelled execution from the nodes that stopped it; completed nodes are kept',
        params: IdParamsSchema,
        response: { 202: Type.Object({ executionId: Type.String(), status: Type.Literal('running'), retried: Type.Array(Type.String()) }), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!deps.retryExecution) throw new WeftError('NOT_IMPLEMENTED', 'retry is not available in this process');
      const { retried } = await deps.retryExecution({ workspaceId: request.workspaceId, executionId: request.params.id });
      return reply.code(202).send({ executionId: request.params.id, status: 'running' as const, retried });
    },
  );
  app.post(
    '/v1/executions/:id/resume',
    {
      schema: {
        tags: ['executions'],
        summary: 'Resume a node waiting for an approval or a webhook, with its data (and token)',
        params: IdParamsSchema,
        body: Type.Object(
          {
            /** A wait of the flow, or of a map's item (`<map>[<index>].<node>`). */
            nodeId: Type.String({ minLength: 1, maxLength: 160 }),
            data: Type.Optional(Type.Unknown()),
            token: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ executionId: Type.String(), nodeId: Type.String(), status: Type.Literal('resuming') }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request;
      const executionId = request.params.id;
      const { nodeId, data, token } = request.body;
      const row = await repos.executions.get({ workspaceId, executionId });
      if (!row) throw notFound(`execution ${executionId}`);
      const hot = await deps.state.getExecution(executionId);
      const waiting = hot?.nodes[nodeId];
      if (!hot || !waiting) throw conflict(`node '${nodeId}' is not waiting`);
      if (waiting.status !== 'waiting') throw conflict(`node '${nodeId}' is not waiting (it is ${waiting.status})`);
      const flow = await repos.flows.getVersion(hot.flowId, hot.flowVersion);
      const item = parseMapItemNodeId(nodeId);
      const map = item ? flow?.nodes.find((n) => n.id === item.mapId) : undefined;
      const node = item ? (map?.type === 'map' ? map.graph.nodes.find((n) => n.id === item.nodeId) : undefined) : flow?.nodes.find((n) => n.id === nodeId);
      if (node?.type !== 'wait' || !node.event) throw conflict(`node '${nodeId}' waits for a timer, not for an event`);
      // Webhooks must bring the token of node.waiting; an approval may, and then it must match.
      if (node.event === 'webhook' || token !== undefined) {
        const expected = waiting.waitTokenHash;
        if (!expected || !safeEqual(hashResumeToken(token ?? ''), expected)) {
          throw new WeftError('RESUME_TOKEN_INVALID', `wrong or missing resume token for node '${nodeId}'`);
        }
      }
      await deps.queue.add({
        queue: QUEUES.resume,
        name: 'resume',
        data: {
          executionId, workspaceId, flowId: hot.flowId, flowVersion: hot.flowVersion, nodeId, kind: 'event', data: data ?? null,
          ...(row.maxCostUsd === null ? {} : { maxCostUsd: row.maxCostUsd }),
        },
        // An item's wait may run again (a retry runs the item again): one job id per waiting spell.
        jobId: item ? `${resumeJobId(executionId, nodeId, 'event')}.${Date.parse(waiting.startedAt ?? '0').toString(36)}` : resumeJobId(executionId, nodeId, 'event'),
        attempts: 5,
      });
      log.info({ executionId, nodeId, event: node.event }, 'waiting node resumed');
      return reply.code(202).send({ executionId, nodeId, status: 'resuming' as const });
    },
  );
  return Promise.resolve();
};
