import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../../test/helpers/test-app.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

let services: TestServices;
let t: TestApp;
let db: pg.Client;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_API_KEYS_PER_WORKSPACE: '3' } });
  db = new pg.Client({ connectionString: services.databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await t?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

interface KeyView { id: string; prefix: string; name: string; createdAt: string; lastUsedAt: string | null }

async function list(key: string): Promise<KeyView[]> {
  const res = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(key) });
  expect(res.statusCode).toBe(200);
  return res.json<{ items: KeyView[] }>().items;
}

describe('API keys', () => {
  it('creates a key shown once, lists keys without the key or its hash, and the new key works', async () => {
    const ws = await t.createWorkspace('keys');
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(ws.apiKey), payload: { name: '  ci  ' } });
    expect(res.statusCode).toBe(201);
    const created = res.json<KeyView & { apiKey: string }>();
    expect(created).toEqual({
      id: expect.any(String), prefix: created.apiKey.slice(0, 10), name: 'ci', createdAt: expect.stringMatching(/^\d{4}-/), lastUsedAt: null,
      apiKey: expect.stringMatching(/^wk_[0-9A-Za-z]{32}$/),
    });
    const keys = await list(created.apiKey);
    expect(keys.map((k) => k.name)).toEqual(['default', 'ci']);
    const [hash] = (await db.query<{ key_hash: string }>('select key_hash from api_keys where id = $1', [created.id])).rows;
    const text = JSON.stringify(keys);
    expect(text).not.toContain(created.apiKey);
    expect(text).not.toContain(ws.apiKey);
    expect(text).not.toContain(hash?.key_hash);
    expect(t.logs.join('')).not.toContain(created.apiKey);
    expect(t.logs.join('')).toContain('API key created');
  });

  it('records last use once, not on every request', async () => {
    const ws = await t.createWorkspace('last-used');
    const id = (await list(ws.apiKey))[0]?.id;
    const stored = async (): Promise<Date | null> => (await db.query<{ last_used_at: Date | null }>('select last_used_at from api_keys where id = $1', [id])).rows[0]?.last_used_at ?? null;
    const first = await waitFor(stored, { message: 'last use recorded' });
    for (let i = 0; i < 5; i++) await list(ws.apiKey);
    expect((await stored())?.getTime()).toBe(first.getTime());
    expect((await list(ws.apiKey))[0]?.lastUsedAt).toBe(first.toISOString());
  });

  it('answers 400 with a JSON path for bad input', async () => {
    const ws = await t.createWorkspace('bad-input');
    for (const payload of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: 42 }, { name: 'ok', extra: true }, { name: 'a\u0000b' }]) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(ws.apiKey), payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      const error = res.json<{ error: { code: string; details: { path: string }[] } }>().error;
      // NUL is refused by the input guard (invalid_text) before the schema sees it.
      expect(error.code).toBe(payload.name?.toString().includes('\u0000') ? 'invalid_text' : 'invalid_request');
      expect(error.details[0]?.path).toMatch(/^\/(name|extra)?$/);
    }
    const notJson = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: { ...auth(ws.apiKey), 'content-type': 'application/json' }, payload: '{"name":' });
    expect(notJson.statusCode).toBe(400);
  });

  it('never lists or revokes another workspace\'s keys (404), and a malformed id is 404 too', async () => {
    const mine = await t.createWorkspace('mine');
    const theirs = await t.createWorkspace('theirs');
    const theirKey = (await list(theirs.apiKey))[0]?.id ?? '';
    expect((await list(mine.apiKey)).map((k) => k.id)).not.toContain(theirKey);
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${theirKey}`, headers: auth(mine.apiKey) });
    expect(res.statusCode).toBe(404);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('not_found');
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/api-keys/not-a-uuid', headers: auth(mine.apiKey) })).statusCode).toBe(404);
    expect((await list(theirs.apiKey)).map((k) => k.id)).toEqual([theirKey]);
  });

  it('rotates: a new key revokes the old one, which answers 401 at once; a key may revoke itself but not the last one', async () => {
    const ws = await t.createWorkspace('rotate');
    const second = (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(ws.apiKey), payload: { name: 'new' } })).json<KeyView & { apiKey: string }>();
    const oldId = (await list(ws.apiKey))[0]?.id ?? '';
    // The old key revokes itself: the answer is 204, the next request 401.
    const self = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${oldId}`, headers: auth(ws.apiKey) });
    expect(self.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(ws.apiKey) })).statusCode).toBe(401);
    // The workspace's last key cannot be revoked: the workspace would be locked out.
    const last = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${second.id}`, headers: auth(second.apiKey) });
    expect(last.statusCode).toBe(409);
    expect(last.json<{ error: { code: string } }>().error.code).toBe('conflict');
    expect((await list(second.apiKey)).map((k) => k.id)).toEqual([second.id]);
    const revoked = (await t.deps.metrics.apiKeysTotal.get()).values.find((v) => v.labels.event === 'revoked')?.value;
    expect(revoked).toBeGreaterThanOrEqual(1);
  });

  it('refuses a key beyond WEFT_API_KEYS_PER_WORKSPACE with its own code', async () => {
    const ws = await t.createWorkspace('limit');
    for (const name of ['two', 'three']) {
      expect((await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(ws.apiKey), payload: { name } })).statusCode).toBe(201);
    }
    const over = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(ws.apiKey), payload: { name: 'four' } });
    expect(over.statusCode).toBe(409);
    expect(over.json<{ error: { code: string } }>().error.code).toBe('api_key_limit_reached');
  });

  it('needs a workspace key: the admin token is not one', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(TEST_ADMIN_TOKEN) })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/v1/api-keys' })).statusCode).toBe(401);
  });
});

describe('workspace deletion (admin)', () => {
  it('answers 202 and refuses the workspace\'s keys at once; 404 for an unknown workspace; 401 without the admin token', async () => {
    const ws = await t.createWorkspace('to-delete');
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/workspaces/${ws.id}`, headers: auth(ws.apiKey) })).statusCode).toBe(401);
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/workspaces/${ws.id}`, headers: auth(TEST_ADMIN_TOKEN) });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id: ws.id, status: 'deleting' });
    expect((await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(ws.apiKey) })).statusCode).toBe(401);
    await waitFor(async () => (await db.query('select 1 from workspaces where id = $1', [ws.id])).rowCount === 0, { message: 'workspace row deleted' });
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/workspaces/${ws.id}`, headers: auth(TEST_ADMIN_TOKEN) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/workspaces/nope', headers: auth(TEST_ADMIN_TOKEN) })).statusCode).toBe(404);
    expect(t.logs.join('')).toContain('workspace deletion requested');
  });
});
