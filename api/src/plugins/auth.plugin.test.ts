import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../app.js';
import type { ApiDeps } from '../deps.js';
import authPlugin, { authenticateRequest, tokensEqual } from './auth.plugin.js';
import errorHandlerPlugin from './error-handler.plugin.js';

const KEY = 'wft_valid_key';
const ADMIN = 'admin-token-0123456789';

const deps = {
  // No key cache and no control bus: every request asks the repo.
  config: { adminToken: ADMIN, apiKeyCacheTtlMs: 0, apiKeyCacheMax: 1 },
  logger: createLogger({ name: 'test', level: 'silent' }),
  metrics: createMetrics({ registry: new Registry() }),
  database: {
    repos: {
      workspaces: {
        authenticate: (key: string) => Promise.resolve(key === KEY ? { workspaceId: 'ws-1', keyId: 'k-1', lastUsedAt: new Date() } : null),
        touchApiKey: () => Promise.resolve(),
      },
    },
  },
} as unknown as ApiDeps;

const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();

beforeAll(async () => {
  app.decorate('deps', deps);
  await app.register(errorHandlerPlugin);
  await app.register(authPlugin);
  const whoami = (request: { workspaceId: string }) => ({ workspaceId: request.workspaceId });
  app.get('/v1/ws', whoami);
  app.get('/v1/executions/:id/events', whoami);
  app.get('/v1/executions/:id', whoami);
  app.post('/v1/admin-thing', { config: { auth: 'admin' } }, () => ({ ok: true }));
  app.get('/v1/open', { config: { auth: 'none' } }, () => ({ ok: true }));
  app.get('/outside', () => ({ ok: true }));
  app.get('/v1/again', async (request) => ({ workspaceId: await authenticateRequest(request) }));
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

describe('auth plugin', () => {
  it('puts the workspace on the request', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/executions/1', headers: { authorization: `Bearer ${KEY}` } });
    expect(res.json()).toEqual({ workspaceId: 'ws-1' });
  });

  it('accepts ?token= only on the WebSocket and SSE routes', async () => {
    expect((await app.inject({ method: 'GET', url: `/v1/ws?token=${KEY}` })).json()).toEqual({ workspaceId: 'ws-1' });
    expect((await app.inject({ method: 'GET', url: `/v1/executions/1/events?token=${KEY}` })).json()).toEqual({ workspaceId: 'ws-1' });
    expect((await app.inject({ method: 'GET', url: `/v1/executions/1?token=${KEY}` })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/ws?token=wrong' })).statusCode).toBe(401);
  });

  it('checks the admin token, never a workspace key, on admin routes', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/admin-thing', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/admin-thing', headers: { authorization: `Bearer ${KEY}` } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/admin-thing' })).statusCode).toBe(401);
  });

  it('leaves open routes open', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/open' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/outside' })).statusCode).toBe(200);
  });

  it('exports authenticateRequest for handlers', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/again', headers: { authorization: `Bearer ${KEY}` } })).json()).toEqual({ workspaceId: 'ws-1' });
  });
});

describe('helpers', () => {
  it('compares tokens of any length', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
    expect(tokensEqual('', 'abc')).toBe(false);
  });

  it('redacts ?token= from logged URLs', () => {
    expect(redactUrl('/v1/ws?token=secret')).toBe('/v1/ws?token=[redacted]');
    expect(redactUrl('/v1/executions/1/events?a=1&token=secret&b=2')).toBe('/v1/executions/1/events?a=1&token=[redacted]&b=2');
  });
});
