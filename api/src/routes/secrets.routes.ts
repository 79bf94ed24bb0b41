/**
 * Workspace secrets for `{{vault.NAME}}` in HTTP nodes. A value goes in and never comes out:
 * answers carry names and dates only, and request bodies are never logged.
 */
import { SECRET_NAME_PATTERN } from '@weft/shared/templates';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, errorResponses } from '../schemas/common-schemas.js';

export const SECRET_VALUE_MAX_LENGTH = 16_384;

const NameParams = Type.Object({
  name: Type.String({ pattern: SECRET_NAME_PATTERN.source, description: 'Secret name, used as {{vault.NAME}}' }),
});

const PutSecretBody = Type.Object(
  {
    value: Type.String({ minLength: 1, maxLength: SECRET_VALUE_MAX_LENGTH, description: 'The secret value; never returned' }),
  },
  { additionalProperties: false },
);

const SecretSummarySchema = Type.Object({
  name: Type.String(),
  updatedAt: DateTime,
});

const NoContent = Type.Null({ description: 'No content' });

export const secretsRoutes: RoutePlugin = (app, { deps }) => {
  const { secrets } = deps.database.repos;

  app.put(
    '/v1/secrets/:name',
    {
      schema: {
        tags: ['secrets'],
        summary: 'Store (encrypted) a secret for {{vault.NAME}} in HTTP nodes',
        params: NameParams,
        body: PutSecretBody,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await secrets.put({ workspaceId: request.workspaceId, name, value: request.body.value });
      request.log.info({ secret: name }, 'secret stored');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/secrets',
    { schema: { tags: ['secrets'], summary: 'Stored secrets (names only, never the values)', response: { 200: Type.Array(SecretSummarySchema), ...errorResponses() } } },
    async (request) => {
      const list = await secrets.list(request.workspaceId);
      return list.map((s) => ({ name: s.name, updatedAt: s.updatedAt.toISOString() }));
    },
  );

  app.delete(
    '/v1/secrets/:name',
    {
      schema: {
        tags: ['secrets'],
        summary: 'Delete a secret',
        params: NameParams,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const deleted = await secrets.delete(request.workspaceId, name);
      if (!deleted) throw notFound(`secret ${name}`);
      request.log.info({ secret: name }, 'secret deleted');
      return reply.code(204).send(null);
    },
  );
  return Promise.resolve();
};
