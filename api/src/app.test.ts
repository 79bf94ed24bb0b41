import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../test/helpers/services.js';
import { createTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../test/helpers/test-app.js';
import { NODE_TYPES } from '@weft/shared/flow';

let services: TestServices;
let t: TestApp;
let apiKey: string;
const failing = { fail: false };

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({
    databaseUrl: services.databaseUrl,
    env: { WEFT_BODY_LIMIT_BYTES: '4096' },
    readiness: [{ name: 'redis', check: () => (failing.fail ? Promise.reject(new Error('redis down at redis://secret@host')) : Promise.resolve()) }],
  });
  ({ apiKey } = await t.createWorkspace('app test'));
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

describe('authentication', () => {
  it('answers 401 unauthorized without a key', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/flows' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('answers 401 unauthorized for an unknown key and a malformed header', async () => {
    for (const authorization of ['Bearer wft_not_a_real_key', 'Basic abc', 'Bearer', `Token ${apiKey}`]) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/flows', headers: { authorization } });
      expect(res.statusCode, authorization).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
    }
  });

  it('accepts a known key, with any case of the scheme', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/flows', headers: { authorization: `bearer ${apiKey}` } });
    expect(res.statusCode).toBe(200);
  });

  it('does not accept ?token= on ordinary routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/flows?token=${apiKey}` });
    expect(res.statusCode).toBe(401);
  });

  it('needs the admin token to create a workspace', async () => {
    const body = { name: 'x' };
    const none = await t.app.inject({ method: 'POST', url: '/v1/workspaces', payload: body });
    expect(none.statusCode).toBe(401);
    const withKey = await t.app.inject({ method: 'POST', url: '/v1/workspaces', headers: auth(apiKey), payload: body });
    expect(withKey.statusCode).toBe(401);
    const wrong = await t.app.inject({ method: 'POST', url: '/v1/workspaces', headers: auth(`${TEST_ADMIN_TOKEN}x`), payload: body });
    expect(wrong.statusCode).toBe(401);
    const ok = await t.app.inject({ method: 'POST', url: '/v1/workspaces', headers: auth(TEST_ADMIN_TOKEN), payload: body });
    expect(ok.statusCode).toBe(201);
    const created = ok.json();
    expect(created).toEqual({ id: expect.any(String), name: 'x', apiKey: expect.any(String) });
    const use = await t.app.inject({ method: 'GET', url: '/v1/credentials', headers: auth(created.apiKey) });
    expect(use.statusCode).toBe(200);
  });

  it('needs the admin token to set a model price', async () => {
    const url = '/v1/models/openai/gpt-test-1';
    const payload = { inputPer1M: 2.5, outputPer1M: 10 };
    const res = await t.app.inject({ method: 'PUT', url, headers: auth(apiKey), payload });
    expect(res.statusCode).toBe(401);
    const ok = await t.app.inject({ method: 'PUT', url, headers: auth(TEST_ADMIN_TOKEN), payload });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ provider: 'openai', model: 'gpt-test-1', inputPer1M: 2.5, outputPer1M: 10, reasoningPer1M: 10, cachedPer1M: 2.5 });
    const list = await t.app.inject({ method: 'GET', url: '/v1/models', headers: auth(apiKey) });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toContainEqual(ok.json());
    const negative = await t.app.inject({ method: 'PUT', url, headers: auth(TEST_ADMIN_TOKEN), payload: { inputPer1M: -1, outputPer1M: 1 } });
    expect(negative.statusCode).toBe(400);
    expect(negative.json().error.details).toContainEqual(expect.objectContaining({ path: '/inputPer1M' }));
  });

  it('never writes a key or token to the logs', () => {
    const text = t.logs.join('');
    expect(text).not.toContain(apiKey);
    expect(text).not.toContain(TEST_ADMIN_TOKEN);
  });

  it("writes each request's workspace and key on its own log lines, never on another request's", async () => {
    const other = await t.createWorkspace('log bindings');
    const before = t.logs.length;
    const mine = await t.app.inject({ method: 'GET', url: '/v1/flows', headers: auth(apiKey) });
    const theirs = await t.app.inject({ method: 'GET', url: '/v1/flows', headers: auth(other.apiKey) });
    const anonymous = await t.app.inject({ method: 'GET', url: '/health' });
    expect([mine.statusCode, theirs.statusCode, anonymous.statusCode]).toEqual([200, 200, 200]);
    const completed = t.logs.slice(before).map((l) => JSON.parse(l) as { msg?: string; reqId?: string; workspaceId?: string; apiKeyId?: string })
      .filter((l) => l.msg === 'request completed');
    const byRequest = (reqId: unknown) => completed.find((l) => l.reqId === reqId);
    const [mineLine, theirsLine, anonymousLine] = [mine, theirs, anonymous].map((res) => byRequest(res.headers['x-request-id']));
    expect(mineLine?.apiKeyId).toEqual(expect.any(String));
    expect(mineLine?.workspaceId).not.toBe(other.id);
    expect(theirsLine?.workspaceId).toBe(other.id);
    expect(theirsLine?.apiKeyId).not.toBe(mineLine?.apiKeyId);
    expect(anonymousLine).toBeDefined();
    expect(anonymousLine?.workspaceId).toBeUndefined();
  });

  it('redacts tokens in URL paths and ?token= from request logs and 404 messages', async () => {
    const token = 'path-canary-0f3c9a71e2b4d6';
    const before = t.logs.length;
    const resume = await t.app.inject({ method: 'POST', url: `/v1/resume/${token}?token=${token}`, payload: {} });
    const events = await t.app.inject({ method: 'GET', url: `/v1/executions/0190d7a0-0000-7000-8000-000000000000/events?token=${token}` });
    expect(resume.statusCode).toBeGreaterThanOrEqual(400);
    expect(events.statusCode).toBe(401);
    const lines = t.logs.slice(before).join('');
    expect(lines).toContain('/v1/resume/[redacted]?token=[redacted]');
    expect(lines).toContain('/events?token=[redacted]');
    expect(lines).not.toContain(token);
    expect(resume.body).not.toContain(token);
  });

  it('redacts the token segment of every route that has one, as it is registered', async () => {
    const token = 'route-canary-5b7d2e9f1a3c';
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const paths = Object.keys(doc.paths as Record<string, unknown>).filter((p) => /\{(token|[A-Za-z]*Token)\}/.test(p));
    for (const path of [...paths, '/v1/resume/{token}']) {
      const url = path.replace(/\{(token|[A-Za-z]*Token)\}/g, token).replace(/\{[^}]+\}/g, 'x');
      const before = t.logs.length;
      await t.app.inject({ method: 'POST', url, payload: {} });
      await t.app.inject({ method: 'GET', url });
      const lines = t.logs.slice(before).join('');
      expect(lines, path).toContain('[redacted]');
      expect(lines, path).not.toContain(token);
    }
  });
});

describe('error shapes', () => {
  it('answers 400 invalid_json for a malformed body', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/flows',
      headers: { ...auth(apiKey), 'content-type': 'application/json' },
      payload: '{"name": "x", nodes: [',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'invalid_json', message: expect.any(String) } });
  });

  it('refuses prototype poisoning as invalid_json', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/flows',
      headers: { ...auth(apiKey), 'content-type': 'application/json' },
      payload: '{"name": "x", "__proto__": {"admin": true}, "nodes": [], "edges": []}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_json');
  });

  it('answers 404 not_found for an unknown route, with or without a key', async () => {
    for (const headers of [{}, auth(apiKey)]) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/nothing-here?token=abc', headers });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');
      expect(res.json().error.message).not.toContain('token');
    }
  });

  it('answers 404 not_found for a malformed id in the path', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/flows/not-a-uuid', headers: auth(apiKey) });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('answers 413 payload_too_large for a body over the limit', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/flows',
      headers: { ...auth(apiKey), 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(5000), nodes: [], edges: [] }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('payload_too_large');
  });

  it('answers 415 unsupported_media_type for a body that is not JSON', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/flows',
        headers: { ...auth(apiKey), 'content-type': contentType },
        payload: 'name=x',
      });
      expect(res.statusCode, contentType).toBe(415);
      expect(res.json().error.code).toBe('unsupported_media_type');
    }
  });

  it('answers 400 invalid_request with a JSON pointer per problem', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/workspaces', headers: auth(TEST_ADMIN_TOKEN), payload: { name: 42 } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.details).toEqual([{ path: '/name', message: expect.any(String) }]);
    const missing = await t.app.inject({ method: 'POST', url: '/v1/workspaces', headers: auth(TEST_ADMIN_TOKEN), payload: {} });
    expect(missing.json().error.details).toEqual([{ path: '/name', message: 'is required' }]);
  });

  it('treats an empty JSON body as no body (400 invalid_request, not invalid_json)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: { ...auth(TEST_ADMIN_TOKEN), 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_request');
  });

  it('answers 400 invalid_request for a bad query parameter', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/flows?limit=0', headers: auth(apiKey) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_request', details: [{ path: '/limit' }] });
    const cursor = await t.app.inject({ method: 'GET', url: '/v1/flows?cursor=garbage', headers: auth(apiKey) });
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json().error.code).toBe('invalid_request');
  });

  it('echoes or assigns a request id', async () => {
    const given = await t.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const fresh = await t.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'bad id with spaces' } });
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('operations', () => {
  it('serves liveness without a key', async () => {
    for (const url of ['/health', '/health/live']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    }
  });

  it('reports readiness, and 503 naming the failing dependency', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
    failing.fail = true;
    try {
      const down = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(down.statusCode).toBe(503);
      expect(down.headers['retry-after']).toBe('5');
      const body = down.json();
      expect(body.error.code).toBe('dependency_unavailable');
      expect(body.error.details).toEqual([{ path: '/checks/redis', message: expect.stringContaining('redis') }]);
      expect(down.body).not.toContain('secret');
    } finally {
      failing.fail = false;
    }
  });

  it('lists queue counts for every queue to the admin token only', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/queues', headers: auth(TEST_ADMIN_TOKEN) });
    expect(res.statusCode).toBe(200);
    expect(res.json().scope).toBe('fleet');
    const names = res.json().items.map((q: { queue: string }) => q.queue);
    expect(names).toEqual(['weft-executions', 'weft-nodes', 'weft-dead', 'weft-resume', 'weft-maintenance', 'weft-schedules', ...NODE_TYPES.map((type) => `weft-nodes-${type}`)]);
    expect(res.json().items[0]).toEqual({ queue: 'weft-executions', waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
    const workspace = await t.app.inject({ method: 'GET', url: '/v1/queues', headers: auth(apiKey) });
    expect(workspace.statusCode).toBe(200);
    expect(workspace.json()).toEqual({ scope: 'workspace', executions: { queued: 0, running: 0, waiting: 0 } });
    expect(workspace.body).not.toContain('weft-executions');
    expect((await t.app.inject({ method: 'GET', url: '/v1/queues', headers: auth('not-the-admin-token') })).statusCode).toBe(401);
  });

  it('serves the OpenAPI document listing the routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/v1/workspaces', '/v1/credentials/{provider}', '/v1/credentials', '/v1/flows', '/v1/flows/{id}', '/v1/models', '/v1/models/{provider}/{model}', '/v1/queues', '/health/ready']) {
      expect(Object.keys(doc.paths), path).toContain(path);
    }
    expect(doc.paths['/v1/flows'].post.requestBody).toBeDefined();
    expect(doc.paths['/v1/workspaces'].post.security).toEqual([{ adminToken: [] }]);
    const docs = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(docs.statusCode).toBeLessThan(400);
  });

  it('serves Prometheus metrics with request counts labelled by route pattern', async () => {
    await t.app.inject({ method: 'GET', url: '/v1/flows/00000000-0000-4000-8000-000000000000', headers: auth(apiKey) });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('weft_http_requests_total');
    expect(res.body).toContain('route="/v1/flows/:id"');
    expect(res.body).not.toContain('00000000-0000-4000-8000-000000000000');
    expect(res.body).toContain('route="unmatched"');
    expect(res.body).toContain('weft_http_request_duration_seconds');
  });
});
