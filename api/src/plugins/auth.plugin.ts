/**
 * Authentication for every route, decided in one onRequest hook so no route repeats it:
 * routes under `/v1/` need a workspace key (`Authorization: Bearer <key>`), routes with
 * `config: { auth: 'admin' }` need the admin token, everything else is open.
 */
import { safeEqual } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RouteAuth } from '../fastify-types.js';

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

/**
 * Resolves the workspace key of a request (the `Authorization` header, or `?token=` on the
 * routes of QUERY_TOKEN_ROUTES), sets `request.workspaceId` and returns it. Throws 401
 * `unauthorized` when the key is missing or unknown. The auth hook already calls it for
 * every `/v1/` route; it is exported for handlers that authenticate again (WebSocket).
 */
export async function authenticateRequest(request: FastifyRequest): Promise<string> {
  const key = bearerToken(request) ?? queryToken(request);
  if (key === null) throw unauthorized('missing API key: send Authorization: Bearer <key>');
  if (key.length > MAX_CREDENTIAL_LENGTH) throw unauthorized('unknown API key');
  const found = await request.server.deps.database.repos.workspaces.authenticate(key);
  if (!found) throw unauthorized('unknown API key');
  request.workspaceId = found.workspaceId;
  request.apiKeyId = found.keyId;
  request.log = request.log.child({ workspaceId: found.workspaceId });
  return found.workspaceId;
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokensEqual(presented: string, expected: string): boolean {
  return safeEqual(presented, expected);
}

/** Throws 401 unless the request carries `Authorization: Bearer $WEFT_ADMIN_TOKEN`. */
export function authenticateAdmin(request: FastifyRequest): void {
  const expected = request.server.deps.config.adminToken;
  const presented = bearerToken(request);
  if (presented === null) throw unauthorized('missing admin token: send Authorization: Bearer $WEFT_ADMIN_TOKEN');
  if (expected === null || !tokensEqual(presented, expected)) throw unauthorized('invalid admin token');
}

function authPlugin(app: FastifyInstance, _opts: unknown, done: (err?: Error) => void): void {
  app.decorateRequest('workspaceId', '');
  app.decorateRequest('apiKeyId', '');
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
    }
  });
  done();
}

export default fp(authPlugin, { name: 'weft-auth', fastify: '5.x' });
