/**
 * A workspace's worker tokens: the credentials of external workers (task protocol), scoped to
 * handler names. Create (shown once), list, revoke, like API keys; and the audit of the secrets
 * delivered to workers.
 */
import { TASK_HANDLER_PATTERN } from '@weft/shared/flow';
import { WeftError } from '@weft/shared/errors';
import type { WorkerTokenRow } from '@weft/shared/ports';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, errorResponses, IdParamsSchema, Uuid } from '../schemas/common-schemas.js';

export const WORKER_TOKEN_MAX_HANDLERS = 100;

const HandlerName = Type.String({ pattern: TASK_HANDLER_PATTERN.source, description: 'A task node handler name, e.g. image.resize' });

const CreateWorkerTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'A label to recognise the token by' }),
    handlers: Type.Array(HandlerName, { minItems: 1, maxItems: WORKER_TOKEN_MAX_HANDLERS, uniqueItems: true, description: 'The handlers the token may claim tasks of' }),
  },
  { additionalProperties: false },
);

const WorkerTokenSchema = Type.Object({
  id: Uuid,
  prefix: Type.String({ description: 'The first characters of the token, to recognise it' }),
  name: Type.String(),
  handlers: Type.Array(Type.String()),
  createdAt: DateTime,
});

const CreatedWorkerToken = Type.Object({
  ...WorkerTokenSchema.properties,
  token: Type.String({ description: 'The token (`wt_…`); shown only in this answer' }),
});

const SecretDeliverySchema = Type.Object({
  id: Uuid,
  taskId: Uuid,
  executionId: Uuid,
  nodeId: Type.String(),
  handler: Type.String(),
  workerTokenId: Uuid,
  attempt: Type.Integer(),
  secretNames: Type.Array(Type.String(), { description: 'Names only: values are never recorded' }),
  deliveredAt: DateTime,
});

function toView(token: WorkerTokenRow): { id: string; prefix: string; name: string; handlers: string[]; createdAt: string } {
  return { id: token.id, prefix: token.prefix, name: token.name, handlers: token.handlers, createdAt: token.createdAt.toISOString() };
}

export const workerTokensRoutes: RoutePlugin = (app, { deps }) => {
  const { workerTokens, tasks } = deps.database.repos;

  app.post(
    '/v1/worker-tokens',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Create a worker token of the workspace, scoped to handler names (shown once)',
        body: CreateWorkerTokenBody,
        response: { 201: CreatedWorkerToken, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const created = await workerTokens.create({
        workspaceId: request.workspaceId, name: request.body.name.trim(), handlers: request.body.handlers, maxTokens: deps.config.workerTokensPerWorkspace,
      });
      if (!created) throw new WeftError('UNAUTHORIZED', 'unknown API key');
      request.log.info({ workerTokenId: created.token.id, prefix: created.token.prefix, handlers: created.token.handlers.length }, 'worker token created');
      return reply.code(201).send({ ...toView(created.token), token: created.secret });
    },
  );

  app.get(
    '/v1/worker-tokens',
    {
      schema: {
        tags: ['tasks'],
        summary: "The workspace's worker tokens (never the tokens themselves)",
        response: { 200: Type.Object({ items: Type.Array(WorkerTokenSchema) }), ...errorResponses() },
      },
    },
    async (request) => ({ items: (await workerTokens.list(request.workspaceId)).map(toView) }),
  );

  app.delete(
    '/v1/worker-tokens/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Revoke a worker token: its next call answers 401',
        params: IdParamsSchema,
        response: { 204: Type.Null({ description: 'No content' }), ...errorResponses() },
      },
    },
    async (request, reply) => {
      if (!(await workerTokens.revoke({ workspaceId: request.workspaceId, tokenId: request.params.id }))) throw notFound(`worker token ${request.params.id}`);
      // Out of every api instance's token cache: here at once, elsewhere over the control bus.
      await app.apiKeys.revoked({ workspaceId: request.workspaceId, keyIds: [request.params.id] });
      request.log.info({ workerTokenId: request.params.id }, 'worker token revoked');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/secret-deliveries',
    {
      schema: {
        tags: ['tasks'],
        summary: 'The audit of secrets delivered to external workers (names, never values), newest first',
        querystring: Type.Object({
          taskId: Type.Optional(Uuid),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
        }),
        response: { 200: Type.Object({ items: Type.Array(SecretDeliverySchema) }), ...errorResponses() },
      },
    },
    async (request) => {
      const rows = await tasks.listDeliveries({ workspaceId: request.workspaceId, taskId: request.query.taskId, limit: request.query.limit ?? 100 });
      return { items: rows.map((r) => ({ ...r, deliveredAt: r.deliveredAt.toISOString() })) };
    },
  );
  return Promise.resolve();
};
