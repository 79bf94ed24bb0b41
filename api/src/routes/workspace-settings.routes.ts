/**
 * The calling workspace and its settings (`GET/PATCH /v1/workspace`), with the workspace key.
 * `httpAllowPrivateNetworks` lets HTTP nodes reach loopback, private, CGNAT and link-local
 * addresses; cloud metadata endpoints stay refused whatever it says.
 */
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, errorResponses, Uuid } from '../schemas/common-schemas.js';

const WorkspaceSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  createdAt: DateTime,
  httpAllowPrivateNetworks: Type.Boolean({
    description: 'HTTP nodes may reach loopback, private and link-local addresses (never cloud metadata endpoints)',
  }),
});

const PatchWorkspaceBody = Type.Object(
  {
    httpAllowPrivateNetworks: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const workspaceSettingsRoutes: RoutePlugin = (app, { deps }) => {
  const { workspaces } = deps.database.repos;

  async function current(workspaceId: string): Promise<Type.Static<typeof WorkspaceSchema>> {
    const [workspace, settings] = await Promise.all([workspaces.get(workspaceId), workspaces.getSettings(workspaceId)]);
    if (!workspace || !settings) throw notFound('workspace');
    return { id: workspace.id, name: workspace.name, createdAt: workspace.createdAt.toISOString(), httpAllowPrivateNetworks: settings.httpAllowPrivateNetworks };
  }

  app.get(
    '/v1/workspace',
    { schema: { tags: ['workspaces'], summary: 'The workspace of the API key, with its settings', response: { 200: WorkspaceSchema, ...errorResponses } } },
    async (request) => current(request.workspaceId),
  );

  app.patch(
    '/v1/workspace',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Change the settings of the workspace of the API key',
        body: PatchWorkspaceBody,
        response: { 200: WorkspaceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const patch = request.body.httpAllowPrivateNetworks === undefined ? {} : { httpAllowPrivateNetworks: request.body.httpAllowPrivateNetworks };
      const updated = await workspaces.updateSettings({ workspaceId: request.workspaceId, patch });
      if (!updated) throw notFound('workspace');
      request.log.info({ settings: patch }, 'workspace settings changed');
      return current(request.workspaceId);
    },
  );
  return Promise.resolve();
};
