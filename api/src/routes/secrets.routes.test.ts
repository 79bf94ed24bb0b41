import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
let apiKey: string;
let otherKey: string;

const VALUE = 'vault-VERYSECRET-0123456789abcdef';

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
  ({ apiKey } = await t.createWorkspace('secrets'));
  ({ apiKey: otherKey } = await t.createWorkspace('other'));
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

describe('secrets', () => {
  it('stores, lists and deletes secrets without ever returning or logging a value', async () => {
    const bodies: string[] = [];
    const put = await t.app.inject({ method: 'PUT', url: '/v1/secrets/TOKEN', headers: auth(apiKey), payload: { value: VALUE } });
    bodies.push(put.body);
    expect(put.statusCode).toBe(204);
    expect(put.body).toBe('');
    const second = await t.app.inject({ method: 'PUT', url: '/v1/secrets/_other_1', headers: auth(apiKey), payload: { value: `${VALUE}-2` } });
    bodies.push(second.body);
    expect(second.statusCode).toBe(204);
    // Replacing keeps one entry.
    const replace = await t.app.inject({ method: 'PUT', url: '/v1/secrets/TOKEN', headers: auth(apiKey), payload: { value: `${VALUE}-3` } });
    expect(replace.statusCode).toBe(204);

    const list = await t.app.inject({ method: 'GET', url: '/v1/secrets', headers: auth(apiKey) });
    bodies.push(list.body);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([
      { name: 'TOKEN', updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) },
      { name: '_other_1', updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) },
    ]);

    const other = await t.app.inject({ method: 'GET', url: '/v1/secrets', headers: auth(otherKey) });
    bodies.push(other.body);
    expect(other.json()).toEqual([]);
    // Another workspace's secret is not found, and not deleted.
    const foreign = await t.app.inject({ method: 'DELETE', url: '/v1/secrets/TOKEN', headers: auth(otherKey) });
    bodies.push(foreign.body);
    expect(foreign.statusCode).toBe(404);

    const del = await t.app.inject({ method: 'DELETE', url: '/v1/secrets/TOKEN', headers: auth(apiKey) });
    bodies.push(del.body);
    expect(del.statusCode).toBe(204);
    const again = await t.app.inject({ method: 'DELETE', url: '/v1/secrets/TOKEN', headers: auth(apiKey) });
    bodies.push(again.body);
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('not_found');

    const after = await t.app.inject({ method: 'GET', url: '/v1/secrets', headers: auth(apiKey) });
    bodies.push(after.body);
    expect(after.json().map((s: { name: string }) => s.name)).toEqual(['_other_1']);

    const docs = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    bodies.push(docs.body);
    expect(docs.json().paths['/v1/secrets/{name}']).toBeDefined();
    for (const body of bodies) expect(body).not.toContain(VALUE);
    expect(t.logs.join('')).not.toContain(VALUE);
  });

  it('answers 404 when deleting a secret that never existed', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/secrets/NEVER_SET', headers: auth(apiKey) });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('validates names with ^[A-Za-z_][A-Za-z0-9_]{0,63}$', async () => {
    const bad = ['1TOKEN', 'my-token', 'a.b', 'A'.repeat(65), '%C3%A9', 'a%20b'];
    for (const name of bad) {
      const put = await t.app.inject({ method: 'PUT', url: `/v1/secrets/${name}`, headers: auth(apiKey), payload: { value: 'v' } });
      expect(put.statusCode, name).toBe(400);
      expect(put.json().error.code).toBe('invalid_request');
      expect(put.json().error.details.map((d: { path: string }) => d.path), name).toContain('/name');
      const del = await t.app.inject({ method: 'DELETE', url: `/v1/secrets/${name}`, headers: auth(apiKey) });
      expect(del.statusCode, name).toBe(400);
    }
    for (const name of ['A', '_', 'a_1', 'Z'.repeat(64)]) {
      const put = await t.app.inject({ method: 'PUT', url: `/v1/secrets/${name}`, headers: auth(apiKey), payload: { value: 'v' } });
      expect(put.statusCode, name).toBe(204);
    }
  });

  it('validates the value without echoing it', async () => {
    const cases: Array<{ payload: unknown; path: string }> = [
      { payload: {}, path: '/value' },
      { payload: { value: '' }, path: '/value' },
      { payload: { value: 42 }, path: '/value' },
      { payload: { value: `${VALUE}${'x'.repeat(16_384)}` }, path: '/value' },
      { payload: { value: VALUE, extra: VALUE }, path: '/extra' },
    ];
    for (const { payload, path } of cases) {
      const res = await t.app.inject({ method: 'PUT', url: '/v1/secrets/VALID', headers: auth(apiKey), payload: payload as object });
      expect(res.statusCode, path).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
      expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
      expect(res.body).not.toContain(VALUE);
    }
    expect(t.logs.join('')).not.toContain(VALUE);
  });

  it('needs a workspace key', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/secrets' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'PUT', url: '/v1/secrets/X', payload: { value: 'v' } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/secrets/X' })).statusCode).toBe(401);
  });
});
