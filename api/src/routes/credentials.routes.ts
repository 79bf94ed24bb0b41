/**
 * Per-workspace LLM provider credentials. The key goes in and never comes out: answers carry
 * only its last 4 characters, and request bodies are never logged.
 */
import { WeftError } from '@weft/shared/errors';
import { LLM_PROVIDERS } from '@weft/shared/flow';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, errorResponses } from '../schemas/common-schemas.js';
import { invalidateProviderClients } from '../services/provider-clients.js';

const ProviderParams = Type.Object({
  provider: Type.Enum([...LLM_PROVIDERS], { description: 'LLM provider' }),
});

const PutCredentialBody = Type.Object(
  {
    apiKey: Type.String({ minLength: 1, maxLength: 512, pattern: '^\\S+$', description: 'The provider API key; never returned' }),
    baseUrl: Type.Optional(
      Type.Union([Type.String({ maxLength: 2048, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' }), Type.Null()], {
        description: "Base URL handed to the provider's SDK (OpenAI style includes /v1; Anthropic and Gemini style do not)",
      }),
    ),
  },
  { additionalProperties: false },
);

const CredentialSummarySchema = Type.Object({
  provider: Type.Enum([...LLM_PROVIDERS]),
  last4: Type.String(),
  baseUrl: Type.Union([Type.String(), Type.Null()]),
  updatedAt: DateTime,
});

const NoContent = Type.Null({ description: 'No content' });

/**
 * Normalises a base URL; only absolute http(s) URLs without credentials in them are accepted.
 * Which addresses it may reach is decided when the worker connects (the egress policy: DNS
 * answers can change after this check), not here.
 */
export function parseBaseUrl(raw: string | null | undefined): string | null {
  if (raw === undefined || raw === null) return null;
  const message = 'must be an absolute http or https URL, without credentials in it';
  const invalid = new WeftError('INVALID_REQUEST', `invalid baseUrl: ${message}`, { details: [{ path: '/baseUrl', message }] });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid;
  if (url.username !== '' || url.password !== '') throw invalid;
  // Kept as given (no trailing-slash rewriting): SDKs treat the base URL verbatim.
  return raw;
}

export const credentialsRoutes: RoutePlugin = (app, { deps }) => {
  const { credentials } = deps.database.repos;

  app.put(
    '/v1/credentials/:provider',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Store (encrypted) the API key of a provider',
        params: ProviderParams,
        body: PutCredentialBody,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      const baseUrl = parseBaseUrl(request.body.baseUrl);
      await credentials.put({ workspaceId: request.workspaceId, provider, apiKey: request.body.apiKey, baseUrl });
      await invalidateProviderClients({ deps, log: request.log, change: { reason: 'credential', workspaceId: request.workspaceId, provider } });
      request.log.info({ provider }, 'credential stored');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/credentials',
    { schema: { tags: ['credentials'], summary: 'Stored credentials (never the keys)', response: { 200: Type.Array(CredentialSummarySchema), ...errorResponses() } } },
    async (request) => {
      const list = await credentials.list(request.workspaceId);
      return list.map((c) => ({ provider: c.provider, last4: c.last4, baseUrl: c.baseUrl, updatedAt: c.updatedAt.toISOString() }));
    },
  );

  app.delete(
    '/v1/credentials/:provider',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Delete the credential of a provider',
        params: ProviderParams,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      const deleted = await credentials.delete(request.workspaceId, provider);
      if (!deleted) throw notFound(`credential for ${provider}`);
      await invalidateProviderClients({ deps, log: request.log, change: { reason: 'credential', workspaceId: request.workspaceId, provider } });
      request.log.info({ provider }, 'credential deleted');
      return reply.code(204).send(null);
    },
  );
  return Promise.resolve();
};
