/**
 * Single-node runs (api.md, "Executions"): run one node of a flow with its upstream results
 * taken from the newest completed runs of those nodes, and list a node's run history.
 */
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { Uuid, errorResponses } from '../schemas/common-schemas.js';
import { ExecutionAcceptedSchema, ExecutionSchema, NodeRunSchema } from '../schemas/execution-schemas.js';
import { enqueueExecution } from '../services/enqueue-execution.js';

const NodeParams = Type.Object({ id: Uuid, nodeId: Type.String({ minLength: 1, maxLength: 64 }) });

const RunBody = Type.Object(
  {
    input: Type.Optional(Type.Unknown({ description: 'Available to templates as {{input.…}}' })),
    wait: Type.Optional(Type.Boolean({ description: 'Answer with the finished execution (200) if it ends within timeoutMs' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 120_000, default: 30_000 })),
  },
  { additionalProperties: false },
);

const HistoryQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })) });

const DEFAULT_HISTORY_LIMIT = 10;

export const nodeRunsRoutes: RoutePlugin = (app, { deps }) => {
  const { repos } = deps.database;

  app.post(
    '/v1/flows/:id/nodes/:nodeId/runs',
    {
      schema: {
        tags: ['executions'],
        summary: 'Run one node, its references filled from the newest completed outputs of its upstream nodes',
        params: NodeParams,
        body: Type.Optional(RunBody),
        response: { 200: ExecutionSchema, 202: ExecutionAcceptedSchema, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { id: flowId, nodeId } = request.params;
      const body = request.body ?? {};
      const created = await deps.engine.createSingleNodeRun({ workspaceId: request.workspaceId, flowId, nodeId, input: body.input ?? null });
      const answer = await enqueueExecution({ deps, hub: app.hub, created, waitTimeoutMs: body.wait ? body.timeoutMs ?? 30_000 : null });
      return reply.code(answer.code).send(answer.body);
    },
  );

  app.get(
    '/v1/flows/:id/nodes/:nodeId/runs',
    {
      schema: {
        tags: ['executions'],
        summary: "A node's run history across the flow's executions, newest first",
        params: NodeParams,
        querystring: HistoryQuery,
        response: { 200: Type.Object({ items: Type.Array(NodeRunSchema) }, { title: 'NodeRunPage' }), ...errorResponses() },
      },
    },
    async (request) => {
      const { workspaceId } = request;
      const { id: flowId, nodeId } = request.params;
      const flow = await repos.flows.get({ workspaceId, flowId });
      if (!flow) throw notFound(`flow ${flowId}`);
      // A node of a map's sub-graph: its runs in every item of every execution.
      const map = flow.nodes.find((n) => n.type === 'map' && n.graph.nodes.some((sub) => sub.id === nodeId));
      if (!flow.nodes.some((n) => n.id === nodeId) && !map) throw notFound(`node '${nodeId}' of flow ${flowId}`);
      const runs = await repos.nodeRuns.listByNode({
        workspaceId, flowId: flow.id, nodeId, limit: request.query.limit ?? DEFAULT_HISTORY_LIMIT, ...(map ? { mapId: map.id } : {}),
      });
      return {
        items: runs.map((r) => ({
          executionId: r.executionId, status: r.status, attempts: r.attempts, provider: r.provider, model: r.model,
          usage: r.usage, cost: r.cost, pricing: r.pricing ?? null, pricedAs: r.pricedAs ?? null, startedAt: r.startedAt?.toISOString() ?? null, finishedAt: r.finishedAt?.toISOString() ?? null,
          runtimeMs: r.runtimeMs, error: r.error, logs: r.logs ?? null, nodeId: r.nodeId, iteration: r.iteration,
        })),
      };
    },
  );
  return Promise.resolve();
};
