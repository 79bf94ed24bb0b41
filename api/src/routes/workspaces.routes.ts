/** Workspace creation and deletion, for the operator holding WEFT_ADMIN_TOKEN. */
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { errorResponses, IdParamsSchema, Uuid } from '../schemas/common-schemas.js';
import { requestWorkspaceDeletion } from '../services/workspace-deletions.js';

const CreateWorkspaceBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
});

const CreatedWorkspace = Type.Object({
  id: Uuid,
  name: Type.String(),
  apiKey: Type.String({ description: 'The workspace API key; shown only in this answer' }),
});

export const workspacesRoutes: RoutePlugin = (app, { deps }) => {
  app.post(
    '/v1/workspaces',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['workspaces'],
        summary: 'Create a workspace and its first API key (admin token)',
        security: [{ adminToken: [] }],
        body: CreateWorkspaceBody,
        response: { 201: CreatedWorkspace, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { workspace, apiKey } = await deps.database.repos.workspaces.create({ name: request.body.name.trim() });
      request.log.info({ workspaceId: workspace.id }, 'workspace created');
      return reply.code(201).send({ id: workspace.id, name: workspace.name, apiKey });
    },
  );

  app.delete(
    '/v1/workspaces/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['workspaces'],
        summary: 'Delete a workspace and everything it owns, in the background (admin token)',
        description:
          'Its API keys answer 401 at once; its live executions are cancelled, then its jobs, hot state, event streams and rows are deleted by a background job that survives restarts. Repeating the call is harmless.',
        security: [{ adminToken: [] }],
        params: IdParamsSchema,
        response: { 202: Type.Object({ id: Uuid, status: Type.Literal('deleting') }), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await requestWorkspaceDeletion({ deps, apiKeys: app.apiKeys, workspaceId: id, log: request.log }))) throw notFound(`workspace ${id}`);
      return reply.code(202).send({ id, status: 'deleting' as const });
    },
  );
  return Promise.resolve();
};
