/** Executions (api.md, "Executions"): start, read, list. */
import { EXECUTION_PRIORITIES, EXECUTION_STATUSES, type ExecutionStatus } from '@weft/shared/model';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, DEFAULT_PAGE_LIMIT, IdParamsSchema, PageQuerySchema, Uuid, errorResponses } from '../schemas/common-schemas.js';
import { ExecutionAcceptedSchema, ExecutionPageSchema, ExecutionSchema, ResumeAcceptedSchema } from '../schemas/execution-schemas.js';
import { enqueueExecution } from '../services/enqueue-execution.js';
import { inlineOutputs, loadExecutionView, summaryView } from '../services/execution-view.js';

const GetQuery = Type.Object(
  {
    include: Type.Optional(Type.Literal('outputs', {
      description: 'Inline large outputs: values stored apart (over WEFT_CLAIM_CHECK_BYTES) replace their {ref, size} placeholders',
    })),
  },
  { additionalProperties: false },
);

const StartBody = Type.Object(
  {
    input: Type.Optional(Type.Unknown({ description: 'Available to templates as {{input.…}}' })),
    wait: Type.Optional(Type.Boolean({ description: 'Answer with the finished execution (200) if it ends within timeoutMs' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 120_000, default: 30_000 })),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'Flow version to run; default latest' })),
    maxCostUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    priority: Type.Optional(Type.Enum([...EXECUTION_PRIORITIES], {
      default: 'normal',
      description: "Order of the execution's node jobs in their queues: high ones are taken before normal ones, normal before low",
    })),
  },
  { additionalProperties: false },
);

const StartHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});

const STATUS_LIST = `(${EXECUTION_STATUSES.join('|')})`;

const ListQuery = Type.Object(
  {
    ...PageQuerySchema.properties,
    flowId: Type.Optional(Uuid),
    status: Type.Optional(Type.String({
      pattern: `^${STATUS_LIST}(,${STATUS_LIST})*$`,
      maxLength: 200,
      description: `One execution status, or several separated by commas (any of them): ${EXECUTION_STATUSES.join(', ')}`,
      examples: ['waiting', 'waiting,failed'],
    })),
    createdAfter: Type.Optional({ ...DateTime, description: 'Only executions created after this instant (exclusive)' }),
    createdBefore: Type.Optional({ ...DateTime, description: 'Only executions created before this instant (exclusive)' }),
  },
  { additionalProperties: false },
);

/** `waiting,failed` → the statuses (the query schema allows only known ones). */
function statusesOf(value: string): ExecutionStatus[] {
  return [...new Set(value.split(','))].filter((s): s is ExecutionStatus => (EXECUTION_STATUSES as readonly string[]).includes(s));
}

/**
 * Both cancel routes answer 202 with a body, not 204: the cancel is recorded at once (no node
 * starts after it), but running calls are aborted and the end is written moments later, so the
 * answer says it was accepted and names the execution and the status it now has.
 */
const CancelAccepted = Type.Object(
  { executionId: Uuid, status: Type.Literal('cancelled') },
  { title: 'CancelAccepted', description: 'The cancel is recorded; running calls abort and the end is written moments later' },
);

export const executionsRoutes: RoutePlugin = (app, { deps }) => {
  const { repos } = deps.database;
  const { engine } = deps;

  app.post(
    '/v1/flows/:id/executions',
    {
      schema: {
        tags: ['executions'],
        summary: 'Start an execution of a flow',
        params: IdParamsSchema,
        headers: StartHeaders,
        body: Type.Optional(StartBody),
        response: { 200: ExecutionSchema, 202: ExecutionAcceptedSchema, ...errorResponses(422) },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const created = await engine.createExecution({
        workspaceId: request.workspaceId,
        flowId: request.params.id,
        version: body.version,
        input: body.input ?? null,
        idempotencyKey: request.headers['idempotency-key'] ?? null,
        maxCostUsd: body.maxCostUsd ?? null,
        ...(body.priority === undefined ? {} : { priority: body.priority }),
      });
      const answer = await enqueueExecution({ deps, hub: app.hub, created, waitTimeoutMs: body.wait ? body.timeoutMs ?? 30_000 : null });
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
        querystring: GetQuery,
        response: { 200: ExecutionSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const view = await loadExecutionView({
        repos, state: deps.state, workspaceId: request.workspaceId, executionId: request.params.id, resumeLinks: engine.resources.resumeLinks,
      });
      if (!view) throw notFound(`execution ${request.params.id}`);
      return request.query.include === 'outputs' ? inlineOutputs(view, { claimCheck: engine.resources.claimCheck, workspaceId: request.workspaceId }) : view;
    },
  );

  app.get(
    '/v1/executions',
    {
      schema: {
        tags: ['executions'],
        summary: 'List executions, newest first',
        querystring: ListQuery,
        response: { 200: ExecutionPageSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await repos.executions.list({
        workspaceId: request.workspaceId,
        limit: q.limit ?? DEFAULT_PAGE_LIMIT,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.flowId ? { flowId: q.flowId } : {}),
        ...(q.status ? { status: statusesOf(q.status) } : {}),
        ...(q.createdAfter ? { createdAfter: new Date(q.createdAfter) } : {}),
        ...(q.createdBefore ? { createdBefore: new Date(q.createdBefore) } : {}),
      });
      return { items: page.items.map(summaryView), nextCursor: page.nextCursor };
    },
  );
  const cancel = async (request: { workspaceId: string; params: { id: string } }): Promise<{ executionId: string; status: 'cancelled' }> => {
    await engine.cancel({ workspaceId: request.workspaceId, executionId: request.params.id });
    return { executionId: request.params.id, status: 'cancelled' };
  };

  const cancelSchema = {
    tags: ['executions'],
    params: IdParamsSchema,
    response: { 202: CancelAccepted, ...errorResponses(409) },
  };
  app.post('/v1/executions/:id/cancel', { schema: { ...cancelSchema, summary: 'Cancel an execution: no node starts, running calls are aborted' } }, async (request, reply) => reply.code(202).send(await cancel(request)));
  app.delete('/v1/executions/:id', { schema: { ...cancelSchema, summary: 'Cancel an execution (the same as POST …/cancel)' } }, async (request, reply) => reply.code(202).send(await cancel(request)));

  app.post(
    '/v1/executions/:id/retry',
    {
      schema: {
        tags: ['executions'],
        summary: 'Re-run a failed or cancelled execution from the nodes that stopped it; completed nodes are kept',
        params: IdParamsSchema,
        response: { 202: Type.Object({ executionId: Uuid, status: Type.Literal('running'), retried: Type.Array(Type.String()) }, { title: 'RetryAccepted' }), ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const { retried } = await engine.retry({ workspaceId: request.workspaceId, executionId: request.params.id });
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
        response: { 202: ResumeAcceptedSchema, ...errorResponses(403, 409, 410) },
      },
    },
    async (request, reply) => {
      const executionId = request.params.id;
      const { nodeId, data, token } = request.body;
      await engine.resume({ workspaceId: request.workspaceId, executionId, nodeId, data, token });
      return reply.code(202).send({ executionId, nodeId, status: 'resuming' as const });
    },
  );
  return Promise.resolve();
};
