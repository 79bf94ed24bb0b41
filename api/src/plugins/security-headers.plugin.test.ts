/**
 * Response headers (issue 9, "Headers"): helmet on the HTML of /docs and on JSON answers, CORS
 * only when WEFT_CORS_ORIGINS says so (preflights without a key, EventSource with ?token=), and
 * 500 bodies without a stack. Through the app the tests build (real Postgres).
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

const ORIGIN = 'https://app.example.com';
const STACK_MARKER = 'stack-marker-9f2c';

let services: TestServices;
let plain: TestApp;
let withCors: TestApp;

function throwingRoute(t: { app: TestApp['app'] }): void {
  t.app.get('/test/boom', { config: { auth: 'none' } }, () => {
    throw new Error(`${STACK_MARKER} exploded`);
  });
}

beforeAll(async () => {
  services = await createTestServices();
  plain = await createTestApp({ databaseUrl: services.databaseUrl, configure: (app) => { throwingRoute({ app }); } });
  withCors = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_CORS_ORIGINS: `${ORIGIN}, http://localhost:5173` } });
});

afterAll(async () => {
  await plain?.close();
  await withCors?.close();
  await services?.cleanup();
});

describe('helmet', () => {
  it('serves /docs HTML with a CSP that loads only its own assets and refuses framing', async () => {
    const res = await plain.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
    // The UI's assets come from the same origin, under the same policy.
    const asset = await plain.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(asset.statusCode).toBe(200);
    expect(String(asset.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  });

  it('gives JSON answers, errors included, the strictest policy', async () => {
    for (const url of ['/health', '/v1/flows', '/openapi.json', '/no/such/route']) {
      const res = await plain.app.inject({ method: 'GET', url });
      expect(String(res.headers['content-security-policy'])).toContain("default-src 'none'");
      expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });
});

describe('cors', () => {
  it('is off by default: no CORS header, and a preflight is not answered', async () => {
    const { apiKey } = await plain.createWorkspace('no-cors');
    const res = await plain.app.inject({ method: 'GET', url: '/v1/flows', headers: { origin: ORIGIN, authorization: `Bearer ${apiKey}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await plain.app.inject({ method: 'OPTIONS', url: '/v1/flows', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    expect(preflight.statusCode).toBe(404);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a preflight from a configured origin without a key, allowing the key and JSON', async () => {
    const res = await withCors.app.inject({
      method: 'OPTIONS',
      url: '/v1/flows',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(res.headers['access-control-allow-headers'])).toContain('authorization');
    expect(String(res.headers['access-control-allow-headers'])).toContain('idempotency-key');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('allows only the configured origins on real requests, and exposes the request id', async () => {
    const { apiKey } = await withCors.createWorkspace('cors');
    const allowed = await withCors.app.inject({ method: 'GET', url: '/v1/flows', headers: { origin: ORIGIN, authorization: `Bearer ${apiKey}` } });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(String(allowed.headers['access-control-expose-headers'])).toContain('x-request-id');
    const other = await withCors.app.inject({ method: 'GET', url: '/v1/flows', headers: { origin: 'https://evil.example', authorization: `Bearer ${apiKey}` } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    // A 401 still carries the header, so the browser client can read why.
    const denied = await withCors.app.inject({ method: 'GET', url: '/v1/flows', headers: { origin: ORIGIN } });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe(ORIGIN);
  });

  it('lets a browser on a configured origin open the event stream with ?token=', async () => {
    const { apiKey } = await withCors.createWorkspace('sse');
    const auth = { authorization: `Bearer ${apiKey}` };
    const flow = await withCors.app.inject({ method: 'POST', url: '/v1/flows', headers: auth, payload: { name: 'f', nodes: [{ id: 'a', type: 'transform', expression: '1' }] } });
    const flowId = flow.json<{ id: string }>().id;
    // No worker runs here: the execution stays queued, so its stream stays open.
    const started = await withCors.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers: auth, payload: {} });
    const { executionId } = started.json<{ executionId: string }>();
    await withCors.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = withCors.app.server.address() as AddressInfo;
    const abort = new AbortController();
    try {
      // What EventSource sends cross-origin: a simple GET with Origin, the key in the query.
      const res = await fetch(`http://127.0.0.1:${port}/v1/executions/${executionId}/events?token=${apiKey}`, {
        headers: { origin: ORIGIN, accept: 'text/event-stream' },
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(res.headers.get('x-request-id')).not.toBeNull();
      const reader = res.body?.getReader();
      const first = await reader?.read();
      expect(new TextDecoder().decode(first?.value)).toContain(': connected');
    } finally {
      abort.abort();
    }
  });
});

describe('500 answers', () => {
  it('never carry a stack trace or the cause, which goes to the log only', async () => {
    const before = plain.logs.length;
    const res = await plain.app.inject({ method: 'GET', url: '/test/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    expect(res.body).not.toContain(STACK_MARKER);
    expect(res.body).not.toMatch(/\bat .+:\d+:\d+/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const logged = plain.logs.slice(before).join('');
    expect(logged).toContain(STACK_MARKER);
    expect(logged).toContain('"stack"');
  });
});
