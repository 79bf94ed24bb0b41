import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
let apiKey: string;
let otherKey: string;

const SECRET = 'sk-test-VERYSECRET-0123456789abcdefXYZW';

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
  ({ apiKey } = await t.createWorkspace('credentials'));
  ({ apiKey: otherKey } = await t.createWorkspace('other'));
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

describe('credentials', () => {
  it('stores, lists and deletes a credential without ever returning or logging the key', async () => {
    const bodies: string[] = [];
    const put = await t.app.inject({
      method: 'PUT',
      url: '/v1/credentials/openai',
      headers: auth(apiKey),
      payload: { apiKey: SECRET, baseUrl: 'http://127.0.0.1:4010/v1' },
    });
    bodies.push(put.body);
    expect(put.statusCode).toBe(204);
    expect(put.body).toBe('');

    const replace = await t.app.inject({ method: 'PUT', url: '/v1/credentials/anthropic', headers: auth(apiKey), payload: { apiKey: `${SECRET}2` } });
    bodies.push(replace.body);
    expect(replace.statusCode).toBe(204);

    const list = await t.app.inject({ method: 'GET', url: '/v1/credentials', headers: auth(apiKey) });
    bodies.push(list.body);
    expect(list.statusCode).toBe(200);
    const items = list.json<Array<{ provider: string }>>().sort((a, b) => a.provider.localeCompare(b.provider));
    expect(items).toEqual([
      { provider: 'anthropic', last4: 'YZW2', baseUrl: null, updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) },
      { provider: 'openai', last4: 'XYZW', baseUrl: 'http://127.0.0.1:4010/v1', updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) },
    ]);

    const other = await t.app.inject({ method: 'GET', url: '/v1/credentials', headers: auth(otherKey) });
    bodies.push(other.body);
    expect(other.json()).toEqual([]);

    const del = await t.app.inject({ method: 'DELETE', url: '/v1/credentials/openai', headers: auth(apiKey) });
    bodies.push(del.body);
    expect(del.statusCode).toBe(204);
    const again = await t.app.inject({ method: 'DELETE', url: '/v1/credentials/openai', headers: auth(apiKey) });
    bodies.push(again.body);
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('not_found');

    const after = await t.app.inject({ method: 'GET', url: '/v1/credentials', headers: auth(apiKey) });
    bodies.push(after.body);
    expect(after.json().map((c: { provider: string }) => c.provider)).toEqual(['anthropic']);

    const docs = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    bodies.push(docs.body);
    for (const body of bodies) expect(body).not.toContain(SECRET);
    expect(t.logs.join('')).not.toContain(SECRET);
  });

  it('does not echo the key in validation errors', async () => {
    const res = await t.app.inject({ method: 'PUT', url: '/v1/credentials/openai', headers: auth(apiKey), payload: { apiKey: `${SECRET} with spaces` } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([{ path: '/apiKey', message: expect.any(String) }]);
    expect(res.body).not.toContain(SECRET);
    expect(t.logs.join('')).not.toContain(SECRET);
  });

  it('answers 400 for an unknown provider', async () => {
    const res = await t.app.inject({ method: 'PUT', url: '/v1/credentials/mistral', headers: auth(apiKey), payload: { apiKey: 'k' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_request');
    const del = await t.app.inject({ method: 'DELETE', url: '/v1/credentials/mistral', headers: auth(apiKey) });
    expect(del.statusCode).toBe(400);
  });

  it('validates the key and the base URL', async () => {
    const cases: Array<{ payload: unknown; path: string }> = [
      { payload: {}, path: '/apiKey' },
      { payload: { apiKey: '' }, path: '/apiKey' },
      { payload: { apiKey: 'k'.repeat(513) }, path: '/apiKey' },
      { payload: { apiKey: 'k', baseUrl: 'ftp://example.com' }, path: '/baseUrl' },
      { payload: { apiKey: 'k', baseUrl: 'http://' }, path: '/baseUrl' },
      { payload: { apiKey: 'k', baseUrl: 42 }, path: '/baseUrl' },
      // Credentials in the URL would be sent as Basic auth and shown back in listings.
      { payload: { apiKey: 'k', baseUrl: 'http://user:pass@127.0.0.1:4010/v1' }, path: '/baseUrl' },
      { payload: { apiKey: 'k', baseUrl: 'https://token@api.example.com' }, path: '/baseUrl' },
      { payload: { apiKey: 'k', extra: true }, path: '/extra' },
    ];
    for (const { payload, path } of cases) {
      const res = await t.app.inject({ method: 'PUT', url: '/v1/credentials/gemini', headers: auth(apiKey), payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
      expect(res.json().error.details.map((d: { path: string }) => d.path), JSON.stringify(payload)).toContain(path);
    }
  });

  it('accepts a null base URL and the openai-compatible provider', async () => {
    const res = await t.app.inject({ method: 'PUT', url: '/v1/credentials/openai-compatible', headers: auth(apiKey), payload: { apiKey: 'local', baseUrl: null } });
    expect(res.statusCode).toBe(204);
  });
});
