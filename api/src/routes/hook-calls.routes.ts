/**
 * Calls of inbound webhooks (api.md, "POST /v1/hooks/{token}"): no API key, the token is the
 * credential. In order: the token is resolved (404 when unknown or revoked), the call counts
 * against the hook's and the workspace's request rates (429), the signature is checked over the
 * raw bytes (401), the body is parsed, then the flow starts through the engine like an API start
 * (the in-flight cap: 429). The route keeps the body's bytes: it has its own content-type parser.
 */
import { WeftError, toWeftError, type ErrorCode } from '@weft/shared/errors';
import { SIGNATURE_HEADERS, verifyHookSignature } from '@weft/shared/triggers';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { guardError } from '../plugins/body-parser.plugin.js';
import { errorResponses } from '../schemas/common-schemas.js';
import { inspectJson, type JsonLimits } from '../schemas/json-guard.js';
import { enqueueExecution } from '../services/enqueue-execution.js';

/** Longer than any token Weft makes (`wh_` + 43); longer ones are unknown without a lookup. */
const HOOK_TOKEN_MAX_LENGTH = 128;

type HookOutcome = 'started' | 'not_found' | 'bad_signature' | 'rate_limited' | 'workspace_quota' | 'invalid_body' | 'flow_missing' | 'failed';

const OUTCOMES: Partial<Record<ErrorCode, HookOutcome>> = {
  RATE_LIMITED: 'rate_limited',
  WORKSPACE_QUOTA_EXCEEDED: 'workspace_quota',
  HOOK_SIGNATURE_INVALID: 'bad_signature',
  NOT_FOUND: 'not_found',
  INVALID_JSON: 'invalid_body',
  JSON_TOO_DEEP: 'invalid_body',
  STRING_TOO_LONG: 'invalid_body',
  INVALID_TEXT: 'invalid_body',
  PAYLOAD_TOO_LARGE: 'invalid_body',
  // {body, headers} does not match the flow's inputSchema.
  INVALID_INPUT: 'invalid_body',
};

function outcomeOf(err: unknown): HookOutcome {
  return OUTCOMES[toWeftError(err).code] ?? 'failed';
}

/** The body as the flow sees it: parsed JSON for a JSON content type, else the text. */
function parseBody(input: { raw: Buffer | undefined; contentType: string | undefined; limits: JsonLimits }): unknown {
  const { raw } = input;
  if (!raw || raw.length === 0) return null;
  const text = raw.toString('utf8');
  const isJson = /^application\/(?:[\w.+-]+\+)?json\b/i.test(input.contentType ?? '');
  let value: unknown = text;
  if (isJson) {
    try {
      value = JSON.parse(text, (key, v: unknown) => {
        // Prototype poisoning is refused as the api's JSON parser refuses it.
        if (key === '__proto__' || key === 'constructor') throw new Error(`forbidden key ${key}`);
        return v;
      });
    } catch (err) {
      throw new WeftError('INVALID_JSON', `invalid JSON body: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const violation = inspectJson(value, input.limits);
  if (violation) throw guardError('body', violation);
  return value;
}

function selectedHeaders(request: FastifyRequest, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (typeof value === 'string') picked[name] = value;
    else if (Array.isArray(value)) picked[name] = value.join(', ');
  }
  return picked;
}

export const hookCallsRoutes: RoutePlugin = (app, { deps }) => {
  const { metrics, config } = deps;
  const limits: JsonLimits = { maxDepth: config.jsonMaxDepth, maxStringLength: config.jsonMaxStringLength };
  // This plugin's own scope: every content type is read as bytes (bounded by WEFT_BODY_LIMIT_BYTES).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body); });

  app.post(
    '/v1/hooks/:token',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['triggers'],
        summary: "Call an inbound webhook: starts its flow with {body, headers} as input; no API key, the token is the credential",
        params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 2048 }) }),
        querystring: Type.Object({
          wait: Type.Optional(Type.Boolean({ description: "Answer 200 with the flow's output if it ends within timeoutMs" })),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 120_000, default: 30_000 })),
        }),
        response: {
          200: Type.Object({ executionId: Type.String(), status: Type.String(), output: Type.Unknown(), error: Type.Unknown() }),
          202: Type.Object({ executionId: Type.String(), status: Type.String() }),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      try {
        const { token } = request.params;
        const found = token.length > HOOK_TOKEN_MAX_LENGTH ? null : await deps.database.repos.hooks.resolve(token);
        if (!found) throw new WeftError('NOT_FOUND', 'hook not found');
        const { hook, secret } = found;
        request.workspaceId = hook.workspaceId;
        request.apiKeyId = `hook:${hook.id}`;
        request.log = request.log.child({ workspaceId: hook.workspaceId, hookId: hook.id });
        await app.enforceRateLimits(request);
        const raw = Buffer.isBuffer(request.body) ? request.body : undefined;
        if (hook.signatureScheme && secret !== null) {
          const header = request.headers[SIGNATURE_HEADERS[hook.signatureScheme]];
          const verdict = verifyHookSignature({
            scheme: hook.signatureScheme, secret, header: typeof header === 'string' ? header : undefined, body: raw ?? Buffer.alloc(0), nowMs: Date.now(),
          });
          if (!verdict.ok) throw new WeftError('HOOK_SIGNATURE_INVALID', `signature check failed: ${verdict.reason}`);
        }
        const body = parseBody({ raw, contentType: request.headers['content-type'], limits });
        const created = await deps.engine.createExecution({
          workspaceId: hook.workspaceId, flowId: hook.flowId, input: { body, headers: selectedHeaders(request, hook.headers) }, hookId: hook.id,
        }).catch((err: unknown) => {
          // The hook's flow was deleted: the caller learns nothing more than of an unknown hook.
          throw toWeftError(err).code === 'NOT_FOUND' ? new WeftError('NOT_FOUND', 'hook not found') : err;
        });
        const { wait, timeoutMs } = request.query;
        const answer = await enqueueExecution({ deps, hub: app.hub, created, waitTimeoutMs: wait ? timeoutMs ?? 30_000 : null });
        metrics.hookCallsTotal.inc({ outcome: 'started' });
        request.log.info({ executionId: created.execution.id, flowId: hook.flowId }, 'hook started an execution');
        if (answer.code === 200) {
          const view = answer.body;
          return await reply.code(200).send({ executionId: view.id, status: view.status, output: view.output, error: view.error });
        }
        // The status only: a waiting node's resume link is the approver's, not the caller's.
        return await reply.code(202).send({ executionId: answer.body.executionId, status: answer.body.status });
      } catch (err) {
        const outcome = outcomeOf(err);
        metrics.hookCallsTotal.inc({ outcome: outcome === 'not_found' && request.workspaceId !== '' ? 'flow_missing' : outcome });
        if (outcome !== 'failed') request.log.info({ outcome, err: toWeftError(err).message }, 'hook call refused');
        throw err;
      }
    },
  );
  return Promise.resolve();
};
