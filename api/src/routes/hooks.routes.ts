/**
 * Inbound webhooks, their management (api.md, "Inbound webhooks"): create (the URL and its token
 * are shown once), list, delete. The calls themselves are hook-calls.routes.ts.
 */
import type { HookRow } from '@weft/shared/ports';
import { Type, type Static } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, errorResponses, IdParamsSchema, Uuid } from '../schemas/common-schemas.js';

const Scheme = Type.Union([Type.Literal('github'), Type.Literal('stripe')], { description: 'github: X-Hub-Signature-256; stripe: Stripe-Signature' });

/** Headers a hook may pass to its flow, at most. */
export const HOOK_MAX_HEADERS = 20;

const CreateHookBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'A label to recognise the hook by' })),
    headers: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,64}$' }), {
      maxItems: HOOK_MAX_HEADERS, uniqueItems: true, description: "Request headers passed to the flow's input (case-insensitive names)",
    })),
    signature: Type.Optional(Type.Object(
      {
        scheme: Scheme,
        secret: Type.String({ minLength: 8, maxLength: 512, description: "The sender's signing secret; never returned" }),
      },
      { additionalProperties: false },
    )),
  },
  { additionalProperties: false },
);

const HookSchema = Type.Object({
  id: Uuid,
  flowId: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the token, to recognise it' }),
  headers: Type.Array(Type.String()),
  signatureScheme: Type.Union([Scheme, Type.Null()]),
  createdAt: DateTime,
  lastUsedAt: Type.Union([DateTime, Type.Null()], { description: 'Recorded at most once a minute' }),
});

const CreatedHook = Type.Object({
  ...HookSchema.properties,
  token: Type.String({ description: 'The secret part of the URL; shown only in this answer' }),
  url: Type.String({ description: 'POST here to start the flow (WEFT_PUBLIC_URL + /v1/hooks/<token>); shown only in this answer' }),
});

const NoContent = Type.Null({ description: 'No content' });

function toView(hook: HookRow): Static<typeof HookSchema> {
  return {
    id: hook.id, flowId: hook.flowId, name: hook.name, prefix: hook.prefix, headers: hook.headers, signatureScheme: hook.signatureScheme,
    createdAt: hook.createdAt.toISOString(), lastUsedAt: hook.lastUsedAt?.toISOString() ?? null,
  };
}

export const hooksRoutes: RoutePlugin = (app, { deps }) => {
  const { hooks, flows } = deps.database.repos;

  app.post(
    '/v1/flows/:id/hooks',
    {
      schema: {
        tags: ['triggers'],
        summary: 'Create an inbound webhook: a URL that starts the flow with the request as input (shown once)',
        params: IdParamsSchema,
        body: Type.Optional(CreateHookBody),
        response: { 201: CreatedHook, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const created = await hooks.create({
        workspaceId: request.workspaceId,
        flowId: request.params.id,
        name: body.name?.trim() ?? 'hook',
        headers: (body.headers ?? []).map((h) => h.toLowerCase()),
        signature: body.signature ?? null,
        maxHooks: deps.config.triggers.hooksPerWorkspace,
      });
      if (!created) throw notFound(`flow ${request.params.id}`);
      request.log.info({ hookId: created.hook.id, flowId: created.hook.flowId, prefix: created.hook.prefix, signature: created.hook.signatureScheme }, 'hook created');
      return reply.code(201).send({ ...toView(created.hook), token: created.token, url: `${deps.config.publicUrl}/v1/hooks/${created.token}` });
    },
  );

  app.get(
    '/v1/flows/:id/hooks',
    {
      schema: {
        tags: ['triggers'],
        summary: "List a flow's inbound webhooks (never their tokens or secrets)",
        params: IdParamsSchema,
        response: { 200: Type.Object({ items: Type.Array(HookSchema) }), ...errorResponses() },
      },
    },
    async (request) => {
      const flow = await flows.get({ workspaceId: request.workspaceId, flowId: request.params.id });
      if (!flow) throw notFound(`flow ${request.params.id}`);
      const rows = await hooks.listByFlow({ workspaceId: request.workspaceId, flowId: request.params.id });
      return { items: rows.map(toView) };
    },
  );

  app.delete(
    '/v1/flows/:id/hooks/:hookId',
    {
      schema: {
        tags: ['triggers'],
        summary: 'Revoke an inbound webhook: its URL answers 404 from now on',
        params: Type.Object({ id: Uuid, hookId: Uuid }),
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { hookId } = request.params;
      if (!(await hooks.delete({ workspaceId: request.workspaceId, flowId: request.params.id, hookId }))) throw notFound(`hook ${hookId}`);
      request.log.info({ hookId }, 'hook revoked');
      return reply.code(204).send(null);
    },
  );
  return Promise.resolve();
};
