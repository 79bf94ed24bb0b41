/**
 * Authentication for every route, decided in one onRequest hook so no route repeats it:
 * routes under `/v1/` need a workspace key (`Authorization: Bearer <key>`), routes with
 * `config: { auth: 'admin' }` need the admin token, everything else is open.
 */
import { hashApiKey, safeEqual } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RouteAuth } from '../fastify-types.js';
import { ApiKeyCache, LiveConnections, type ApiKeysState, type CachedApiKey, type CachedWorkerToken } from './api-key-cache.js';

/**
 * The only routes that also accept the key as `?token=`: browsers' EventSource and WebSocket
 * cannot set headers. Keyed by method and route pattern, so the path parameter must be `:id`.
 */
export const QUERY_TOKEN_ROUTES: ReadonlySet<string> = new Set(['GET /v1/ws', 'GET /v1/executions/:id/events']);

const MAX_CREDENTIAL_LENGTH = 1024;

function unauthorized(message: string): WeftError {
  return new WeftError('UNAUTHORIZED', message);
}

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1] ?? null;
}

function queryToken(request: FastifyRequest): string | null {
  if (!QUERY_TOKEN_ROUTES.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return null;
  const query = request.query as Record<string, unknown> | undefined;
  const token = query?.token;
  return typeof token === 'string' && token !== '' ? token : null;
}

/** What the route requires: its `config.auth`, else `workspace` under `/v1/`, else nothing. */
export function routeAuth(request: FastifyRequest): RouteAuth {
  if (request.is404) return 'none';
  const configured = request.routeOptions.config.auth;
  if (configured !== undefined) return configured;
  const url = request.routeOptions.url;
  return url !== undefined && url.startsWith('/v1/') ? 'workspace' : 'none';
}

/** last_used_at is a hint for people, not an audit log: each instance writes it at most once a minute per key. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * The key's workspace: from the instance's key cache, else from Postgres (then cached, unless a
 * revocation arrived meanwhile). Records the key's use at most once a minute, without waiting.
 */
async function resolveKey(request: FastifyRequest, key: string): Promise<CachedApiKey | null> {
  const { cache } = request.server.apiKeys;
  const { repos } = request.server.deps.database;
  const { metrics } = request.server.deps;
  const hash = cache.enabled ? hashApiKey(key) : '';
  let found = cache.enabled ? cache.get(hash) : undefined;
  if (found) {
    metrics.apiKeyCacheTotal.inc({ result: 'hit' });
  } else {
    const generation = cache.snapshot();
    const row = await repos.workspaces.authenticate(key);
    if (cache.enabled) metrics.apiKeyCacheTotal.inc({ result: 'miss' });
    if (!row) return null;
    found = { workspaceId: row.workspaceId, keyId: row.keyId, touchedAt: row.lastUsedAt?.getTime() ?? 0 };
    if (cache.enabled) cache.set(hash, found, generation);
  }
  const now = Date.now();
  if (now - found.touchedAt >= LAST_USED_RESOLUTION_MS) {
    found.touchedAt = now;
    const { keyId } = found;
    repos.workspaces
      .touchApiKey({ keyId, at: new Date(now), staleBefore: new Date(now - LAST_USED_RESOLUTION_MS) })
      .catch((err: unknown) => { request.log.warn({ err, apiKeyId: keyId }, 'recording the API key\'s last use failed'); });
  }
  return found;
}

/**
 * Adds the caller to the request's log lines. Fastify's request logger is the request's own
 * pino child, so the bindings are added to it (pino's setBindings) rather than made a child of
 * it: a child per request, with the request's logger as its prototype, was 2.8% of the api's CPU.
 */
function bindRequestLog(request: FastifyRequest, bindings: Record<string, string>): void {
  const log = request.log as FastifyBaseLogger & { setBindings?: (bindings: Record<string, string>) => void };
  if (typeof log.setBindings === 'function') log.setBindings(bindings);
  else request.log = request.log.child(bindings);
}

/**
 * Resolves the workspace key of a request (the `Authorization` header, or `?token=` on the
 * routes of QUERY_TOKEN_ROUTES), sets `request.workspaceId` and `request.apiKeyId` and returns
 * the workspace id. Throws 401 `unauthorized` when the key is missing, unknown or revoked. The
 * auth hook already calls it for every `/v1/` route; it is exported for handlers that
 * authenticate again (WebSocket).
 */
export async function authenticateRequest(request: FastifyRequest): Promise<string> {
  const key = bearerToken(request) ?? queryToken(request);
  if (key === null) throw unauthorized('missing API key: send Authorization: Bearer <key>');
  if (key.length > MAX_CREDENTIAL_LENGTH) throw unauthorized('unknown API key');
  const found = await resolveKey(request, key);
  if (!found) throw unauthorized('unknown API key');
  request.workspaceId = found.workspaceId;
  request.apiKeyId = found.keyId;
  bindRequestLog(request, { workspaceId: found.workspaceId, apiKeyId: found.keyId });
  return found.workspaceId;
}

/**
 * Resolves the worker token of a task-protocol request (`Authorization: Bearer wt_…`): sets
 * `request.workerToken`, `request.workspaceId` and `request.apiKeyId` (the token's id, what
 * per-key limits key on). Answered from the instance's token cache when it can (a worker's
 * heartbeats cost no Postgres read); a revocation drops the token from every instance's cache
 * over the control bus, as an API key's does.
 */
async function authenticateWorker(request: FastifyRequest): Promise<void> {
  const token = bearerToken(request);
  if (token === null) throw unauthorized('missing worker token: send Authorization: Bearer <worker token>');
  if (token.length > MAX_CREDENTIAL_LENGTH) throw unauthorized('unknown worker token');
  const cache = request.server.apiKeys.workerTokens;
  const { metrics } = request.server.deps;
  const hash = cache.enabled ? hashApiKey(token) : '';
  let found = cache.enabled ? cache.get(hash)?.token : undefined;
  if (found) {
    metrics.workerTokenCacheTotal.inc({ result: 'hit' });
  } else {
    const generation = cache.snapshot();
    const row = await request.server.deps.database.repos.workerTokens.authenticate(token);
    if (cache.enabled) metrics.workerTokenCacheTotal.inc({ result: 'miss' });
    if (!row) throw unauthorized('unknown worker token');
    found = row;
    if (cache.enabled) cache.set(hash, { workspaceId: row.workspaceId, keyId: row.id, touchedAt: 0, token: row }, generation);
  }
  request.workerToken = found;
  request.workspaceId = found.workspaceId;
  request.apiKeyId = found.id;
  bindRequestLog(request, { workspaceId: found.workspaceId, workerTokenId: found.id });
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokensEqual(presented: string, expected: string): boolean {
  return safeEqual(presented, expected);
}

/** Whether the request's bearer token is the admin token. */
function presentsAdminToken(request: FastifyRequest): boolean {
  const expected = request.server.deps.config.adminToken;
  const presented = bearerToken(request);
  return presented !== null && expected !== null && tokensEqual(presented, expected);
}

/** Throws 401 unless the request carries `Authorization: Bearer $WEFT_ADMIN_TOKEN`. */
export function authenticateAdmin(request: FastifyRequest): void {
  const expected = request.server.deps.config.adminToken;
  const presented = bearerToken(request);
  if (presented === null) throw unauthorized('missing admin token: send Authorization: Bearer $WEFT_ADMIN_TOKEN');
  if (expected === null || !tokensEqual(presented, expected)) throw unauthorized('invalid admin token');
}

async function authPlugin(app: FastifyInstance): Promise<void> {
  const { config, control, metrics, logger } = app.deps;
  const cache = new ApiKeyCache({ ttlMs: config.apiKeyCacheTtlMs, max: config.apiKeyCacheMax });
  const workerTokens = new ApiKeyCache<CachedWorkerToken>({ ttlMs: config.apiKeyCacheTtlMs, max: config.apiKeyCacheMax });
  const log = logger.child({ component: 'api-key-cache' });
  const connections = new LiveConnections();
  const drop = (input: { workspaceId: string; keyIds?: readonly string[] | undefined }): void => {
    const dropped = cache.invalidate(input);
    if (dropped > 0) metrics.apiKeyCacheTotal.inc({ result: 'invalidated' }, dropped);
    const droppedTokens = workerTokens.invalidate(input);
    if (droppedTokens > 0) metrics.workerTokenCacheTotal.inc({ result: 'invalidated' }, droppedTokens);
    // A revoked key's open WebSocket and SSE streams end too: it reads nothing more.
    const closed = connections.closeRevoked(input);
    if (closed > 0) log.info({ workspaceId: input.workspaceId, keyIds: input.keyIds, closed }, 'event streams of revoked API keys closed');
  };
  if (control) {
    const unsubscribe = await control.subscribe((message) => {
      if (message.type !== 'api-keys-revoked') return;
      drop(message);
      log.debug({ workspaceId: message.workspaceId, keyIds: message.keyIds }, 'revoked API keys dropped from the cache');
    });
    app.addHook('onClose', async () => { await unsubscribe(); });
  }
  const state: ApiKeysState = {
    cache,
    workerTokens,
    connections,
    async revoked(input) {
      drop(input);
      if (!control) return;
      try {
        await control.publish({ type: 'api-keys-revoked', ...input });
      } catch (err) {
        // The keys are gone from Postgres: other instances refuse them once their cache entry expires.
        log.warn({ err, workspaceId: input.workspaceId, keyIds: input.keyIds, cacheTtlMs: config.apiKeyCacheTtlMs }, 'publishing an API key revocation failed');
      }
    },
  };
  app.decorate('apiKeys', state);
  app.decorateRequest('workspaceId', '');
  app.decorateRequest('apiKeyId', '');
  app.decorateRequest('workerToken', null);
  app.addHook('onRequest', async (request) => {
    const auth = routeAuth(request);
    switch (auth) {
      case 'none':
        return;
      case 'admin':
        authenticateAdmin(request);
        return;
      case 'workspace':
        await authenticateRequest(request);
        return;
      case 'worker':
        await authenticateWorker(request);
        return;
      case 'workspace-or-admin':
        // The admin token leaves request.workspaceId '' (the route tells the two apart by it).
        if (presentsAdminToken(request)) return;
        await authenticateRequest(request);
        return;
    }
  });
}

export default fp(authPlugin, { name: 'weft-auth', fastify: '5.x' });
