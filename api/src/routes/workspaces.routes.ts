/** Workspace creation, for the operator holding WEFT_ADMIN_TOKEN. */
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { errorResponses, Uuid } from '../schemas/common-schemas.js';

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
        response: { 201: CreatedWorkspace, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { workspace, apiKey } = await deps.database.repos.workspaces.create({ name: request.body.name.trim() });
      request.log.info({ workspaceId: workspace.id }, 'workspace created');
      return reply.code(201).send({ id: workspace.id, name: workspace.name, apiKey });
    },
  );
  return Promise.resolve();
};
