/**
 * A workspace's API keys: create (the key is shown once), list (never the key or its hash),
 * revoke. Rotation is create-then-revoke. A key may revoke itself, but not the workspace's last
 * key: a workspace never locks itself out (only the operator could mint it a new key).
 */
import { WeftError } from '@weft/shared/errors';
import type { ApiKeyRow } from '@weft/shared/ports';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, errorResponses, IdParamsSchema, Uuid } from '../schemas/common-schemas.js';

const CreateApiKeyBody = Type.Object(
  {
    // Not blank (NUL and lone surrogates are refused before, by the input guard, for every body).
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'A label to recognise the key by' }),
  },
  { additionalProperties: false },
);

const ApiKeySchema = Type.Object({
  id: Uuid,
  prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
  name: Type.String(),
  createdAt: DateTime,
  lastUsedAt: Type.Union([DateTime, Type.Null()], { description: 'Recorded at most once a minute per key' }),
});

const CreatedApiKey = Type.Object({
  ...ApiKeySchema.properties,
  apiKey: Type.String({ description: 'The key; shown only in this answer' }),
});

const NoContent = Type.Null({ description: 'No content' });

function toView(key: ApiKeyRow): { id: string; prefix: string; name: string; createdAt: string; lastUsedAt: string | null } {
  return { id: key.id, prefix: key.prefix, name: key.name, createdAt: key.createdAt.toISOString(), lastUsedAt: key.lastUsedAt?.toISOString() ?? null };
}

export const apiKeysRoutes: RoutePlugin = (app, { deps }) => {
  const { workspaces } = deps.database.repos;

  app.post(
    '/v1/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key of the workspace (shown once)',
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const created = await workspaces.createApiKey({ workspaceId: request.workspaceId, name: request.body.name.trim(), maxKeys: deps.config.apiKeysPerWorkspace });
      // The caller's key was valid a moment ago: the workspace is being deleted meanwhile.
      if (!created) throw new WeftError('UNAUTHORIZED', 'unknown API key');
      deps.metrics.apiKeysTotal.inc({ event: 'created' });
      request.log.info({ keyId: created.key.id, prefix: created.key.prefix }, 'API key created');
      return reply.code(201).send({ ...toView(created.key), apiKey: created.apiKey });
    },
  );

  app.get(
    '/v1/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: "The workspace's API keys (never the keys themselves)",
        response: { 200: Type.Object({ items: Type.Array(ApiKeySchema) }), ...errorResponses() },
      },
    },
    async (request) => ({ items: (await workspaces.listApiKeys(request.workspaceId)).map(toView) }),
  );

  app.delete(
    '/v1/api-keys/:id',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key: it answers 401 on every api instance from now on',
        params: IdParamsSchema,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const outcome = await workspaces.revokeApiKey({ workspaceId: request.workspaceId, keyId: id });
      switch (outcome) {
        case 'missing':
          throw notFound(`API key ${id}`);
        case 'last':
          throw new WeftError('CONFLICT', "this is the workspace's last API key: create another one before revoking it");
        case 'revoked':
          break;
      }
      await app.apiKeys.revoked({ workspaceId: request.workspaceId, keyIds: [id] });
      deps.metrics.apiKeysTotal.inc({ event: 'revoked' });
      request.log.info({ keyId: id, self: id === request.apiKeyId }, 'API key revoked');
      return reply.code(204).send(null);
    },
  );
  return Promise.resolve();
};
