/**
 * Request rate limits per API key and per workspace, counted in Redis and shared by two api
 * instances (two apps on one Redis prefix).
 */
import { generateApiKey } from '@weft/shared/crypto';
import { newId } from '@weft/shared/ids';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

const PER_KEY = 4;
const PER_WORKSPACE = 6;

let services: TestServices;
let redis: Redis;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  services = await createTestServices();
  redis = new Redis(services.redisUrl);
  const env = {
    WEFT_REDIS_PREFIX: services.prefix,
    WEFT_RATE_LIMIT_PER_KEY: String(PER_KEY),
    WEFT_RATE_LIMIT_PER_WORKSPACE: String(PER_WORKSPACE),
    WEFT_RATE_LIMIT_WINDOW_MS: '600000',
  };
  a = await createTestApp({ databaseUrl: services.databaseUrl, env, redis });
  b = await createTestApp({ databaseUrl: services.databaseUrl, env, redis: redis.duplicate() });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  b?.deps.redis?.disconnect();
  await redis?.quit();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** A second key of the workspace, as minting one would make it. */
async function mintKey(workspaceId: string): Promise<string> {
  const key = generateApiKey();
  const client = new pg.Client({ connectionString: services.databaseUrl });
  await client.connect();
  try {
    await client.query('INSERT INTO api_keys (id, workspace_id, prefix, key_hash) VALUES ($1, $2, $3, $4)', [newId(), workspaceId, key.prefix, key.hash]);
  } finally {
    await client.end();
  }
  return key.key;
}

describe('request rate limits', () => {
  it('counts one budget per key across two api instances, answering 429 rate_limited with Retry-After', async () => {
    const ws = await a.createWorkspace('limited');
    const codes: number[] = [];
    for (let i = 0; i < PER_KEY; i += 1) {
      const app = i % 2 === 0 ? a : b;
      codes.push((await app.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(ws.apiKey) })).statusCode);
    }
    expect(codes).toEqual(Array(PER_KEY).fill(200));
    // Each instance saw half of them: only a shared count refuses the next one.
    for (const app of [a, b]) {
      const refused = await app.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(ws.apiKey) });
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringContaining('API key') } });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Health, metrics and docs are never limited.
    for (const url of ['/health', '/health/live', '/metrics', '/openapi.json']) {
      expect((await b.app.inject({ method: 'GET', url, headers: auth(ws.apiKey) })).statusCode).toBe(200);
    }
    // The counters live in Redis, shared, and expire with their window.
    expect(await redis.pttl(`${services.prefix}:ratelimit:ws:${ws.id}`)).toBeGreaterThan(0);
    const metrics = (await a.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/weft_quota_refusals_total\{quota="rate_per_key"[^}]*\} 1/);
  });

  it('limits the workspace whatever the number of its keys', async () => {
    const ws = await a.createWorkspace('many keys');
    const second = await mintKey(ws.id);
    const third = await mintKey(ws.id);
    const keys = [ws.apiKey, second, third];
    const answers: number[] = [];
    for (let i = 0; i < PER_WORKSPACE; i += 1) {
      const app = i % 2 === 0 ? a : b;
      answers.push((await app.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(keys[i % 3] ?? ws.apiKey) })).statusCode);
    }
    // Two requests per key: no key is at its own limit, the workspace is at its limit.
    expect(answers).toEqual(Array(PER_WORKSPACE).fill(200));
    const refused = await b.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(third) });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('workspace') });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another workspace keeps its own budget.
    const other = await b.createWorkspace('unaffected');
    expect((await a.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(other.apiKey) })).statusCode).toBe(200);
  });
});
