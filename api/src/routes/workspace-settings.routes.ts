/**
 * The calling workspace and its settings (`GET/PATCH /v1/workspace`), with the workspace key.
 * `httpAllowPrivateNetworks` lets HTTP nodes reach loopback, private, CGNAT and link-local
 * addresses; cloud metadata endpoints stay refused whatever it says. `fallbackPrice` prices the
 * models the price table lacks (shared/src/engine/pricing.ts), which also admits them under a
 * `maxCostUsd` budget.
 */
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, errorResponses, Uuid } from '../schemas/common-schemas.js';
import { PriceRatesBody, PriceRatesSchema, priceRates } from '../schemas/price-schemas.js';
import { invalidateProviderClients } from '../services/provider-clients.js';

const WorkspaceSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  createdAt: DateTime,
  httpAllowPrivateNetworks: Type.Boolean({
    description: 'HTTP nodes may reach loopback, private and link-local addresses (never cloud metadata endpoints)',
  }),
  fallbackPrice: Type.Union([PriceRatesSchema, Type.Null()], {
    description: 'USD per 1M tokens for models the price table lacks (cost then marked pricing: "fallback"); null: they stay unpriced',
  }),
});

const PatchWorkspaceBody = Type.Object(
  {
    httpAllowPrivateNetworks: Type.Optional(Type.Boolean()),
    fallbackPrice: Type.Optional(Type.Union([PriceRatesBody, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const workspaceSettingsRoutes: RoutePlugin = (app, { deps }) => {
  const { workspaces } = deps.database.repos;

  async function current(workspaceId: string): Promise<Type.Static<typeof WorkspaceSchema>> {
    const [workspace, settings] = await Promise.all([workspaces.get(workspaceId), workspaces.getSettings(workspaceId)]);
    if (!workspace || !settings) throw notFound('workspace');
    return {
      id: workspace.id, name: workspace.name, createdAt: workspace.createdAt.toISOString(),
      httpAllowPrivateNetworks: settings.httpAllowPrivateNetworks, fallbackPrice: settings.fallbackPrice,
    };
  }

  app.get(
    '/v1/workspace',
    { schema: { tags: ['workspaces'], summary: 'The workspace of the API key, with its settings', response: { 200: WorkspaceSchema, ...errorResponses() } } },
    async (request) => current(request.workspaceId),
  );

  app.patch(
    '/v1/workspace',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Change the settings of the workspace of the API key',
        body: PatchWorkspaceBody,
        response: { 200: WorkspaceSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const { httpAllowPrivateNetworks, fallbackPrice } = request.body;
      const patch = {
        ...(httpAllowPrivateNetworks === undefined ? {} : { httpAllowPrivateNetworks }),
        ...(fallbackPrice === undefined ? {} : { fallbackPrice: fallbackPrice === null ? null : priceRates(fallbackPrice) }),
      };
      const updated = await workspaces.updateSettings({ workspaceId: request.workspaceId, patch });
      if (!updated) throw notFound('workspace');
      // Workers keep the settings, and build provider clients with the egress policy: an egress
      // change rebuilds the clients, a fallback price only drops the kept settings.
      if (httpAllowPrivateNetworks !== undefined || fallbackPrice !== undefined) {
        const reason = httpAllowPrivateNetworks === undefined ? 'fallback_price' : 'egress';
        await invalidateProviderClients({ deps, log: request.log, change: { reason, workspaceId: request.workspaceId } });
      }
      request.log.info({ settings: patch }, 'workspace settings changed');
      return current(request.workspaceId);
    },
  );
  return Promise.resolve();
};
