/**
 * The worker's provider clients on a distributed fleet in one process (in-process-fleet.ts: an
 * api and workers on one Redis prefix and one Postgres database), LLM nodes through the official
 * openai SDK to the mock provider, which accepts one key only (so each answer says which key the
 * worker sent):
 * - a warm LLM call reads neither the credential nor the workspace's settings (SQL statements
 *   counted on the pg client), nor does the fallback price lookup of an unpriced model, and a
 *   fallback price changed through the api prices the next call;
 * - a key stored through the api is used by the next call of the worker (the control-bus message
 *   drops its client); a deleted one fails the next call `llm_no_credentials`;
 * - turning the workspace's private networks off rebuilds the client behind the egress wall;
 * - a change whose message was lost is still picked up within the cache's TTL.
 * Embedded mode (api and worker in one process, PGlite, the in-process control bus) drops the
 * client on a change just the same.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@weft/db/database';
import { loadConfig } from '@weft/shared/config';
import { createProcessResources } from '@weft/shared/infrastructure';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { buildApp } from '../../api/src/app.js';
import { createProvider, startWorkerRuntime } from '../../worker/src/index.js';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import type { WeftMetrics } from '@weft/shared/metrics';
import pg from 'pg';
import { FLEET_ADMIN_TOKEN, inProcessFleet, type FleetApi, type FleetWorker, type InProcessFleet } from '../helpers/in-process-fleet.js';
import { redisForSuite } from '../helpers/services.js';
import { SCENARIO_BREAKER } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';

/** Building the instances (module graph, pools, BullMQ connections) on a loaded 2-core machine. */
const FLEET_START_MS = 120_000;
/** How long one execution with one mock LLM node may take: a bound on a wait, not a measurement. */
const RUN_MS = 30_000;
const GOOD_KEY = 'sk-test-cache-good-0001';
const OTHER_KEY = 'sk-test-cache-other-0002';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

async function call(api: Pick<FleetApi, 'app'>, method: Method, url: string, token: string, payload?: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const res = await api.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return { status: res.statusCode, body: res.body === '' ? {} : res.json<Record<string, any>>() };
}

async function counter(metrics: WeftMetrics, name: 'providerClientCacheTotal' | 'providerClientInvalidationsTotal', labels: Record<string, string>): Promise<number> {
  const { values } = await metrics[name].get();
  return values.filter((v) => Object.entries(labels).every(([k, value]) => (v.labels as Record<string, string | number | undefined>)[k] === value)).reduce((sum, v) => sum + v.value, 0);
}

/**
 * Counts the SELECTs this process sends to Postgres that read a provider credential or the
 * workspace's egress setting (told apart by its column), as test/bench/pg-statements.ts counts
 * statements: node-postgres' Client.prototype.query is wrapped (every pool client goes through it).
 */
function countCredentialReads(): { reads: { credentials: number; settings: number }; restore(): void } {
  const reads = { credentials: 0, settings: 0 };
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  prototype.query = function countedQuery(this: unknown, ...args: unknown[]): unknown {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
    if (typeof text === 'string' && text.trimStart().toLowerCase().startsWith('select')) {
      if (text.includes('"provider_credentials"')) reads.credentials += 1;
      if (text.includes('"http_allow_private_networks"')) reads.settings += 1;
    }
    return original.apply(this, args);
  };
  return { reads, restore: () => { prototype.query = original; } };
}

describe('provider clients cached per worker, invalidated over the control bus', () => {
  const suite = redisForSuite();
  let fleet: InProcessFleet;
  let api: FleetApi;
  let worker: FleetWorker;
  let mock: MockLlm;
  let ws: { id: string; apiKey: string };
  let flowId: string;
  let counting: ReturnType<typeof countCredentialReads>;

  const run = async (): Promise<{ status: string; code: string | undefined; output: unknown }> => {
    const res = await call(api, 'POST', `/v1/flows/${flowId}/executions`, ws.apiKey, { input: { who: 'cache' }, wait: true, timeoutMs: RUN_MS });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const node = res.body.nodes[0] as { error?: { code: string }; output?: unknown };
    return { status: res.body.status as string, code: node.error?.code, output: node.output };
  };
  const invalidations = (reason: string): Promise<number> => counter(worker.metrics, 'providerClientInvalidationsTotal', { reason });
  /** Waits until the worker received `n` more invalidations for `reason` than `before`. */
  const received = async (reason: string, before: number): Promise<void> => {
    await waitFor(async () => (await invalidations(reason)) > before, { timeoutMs: 10_000, message: `worker received the ${reason} invalidation` });
  };

  beforeAll(async () => {
    // Only this key is accepted: an answer proves which key the worker sent.
    mock = await startMockLlm({ port: 0, host: '127.0.0.1', apiKey: GOOD_KEY });
    fleet = inProcessFleet({ redisUrl: suite.svc.redisUrl, databaseUrl: suite.svc.databaseUrl, prefix: suite.svc.prefix, env: { ...SCENARIO_BREAKER } });
    api = await fleet.startApi();
    // A TTL far longer than the test: only the control-bus message can drop a client.
    worker = await fleet.startWorker('w1', { WEFT_PROVIDER_CLIENT_CACHE_TTL_MS: '600000' });
    const created = await call(api, 'POST', '/v1/workspaces', FLEET_ADMIN_TOKEN, { name: 'clients' });
    expect(created.status).toBe(201);
    ws = created.body as { id: string; apiKey: string };
    expect((await call(api, 'PATCH', '/v1/workspace', ws.apiKey, { httpAllowPrivateNetworks: true })).status).toBe(200);
    expect((await call(api, 'PUT', '/v1/credentials/openai', ws.apiKey, { apiKey: GOOD_KEY, baseUrl: `${mock.url}/v1` })).status).toBe(204);
    const flow = await call(api, 'POST', '/v1/flows', ws.apiKey, {
      name: 'one-llm', nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Hello {{input.who}}', stream: false }], edges: [],
    });
    expect(flow.status).toBe(201);
    flowId = flow.body.id as string;
    counting = countCredentialReads();
  }, FLEET_START_MS);

  afterAll(async () => {
    counting?.restore();
    await fleet?.close();
    await mock?.close();
  });

  it('makes no credential or settings query for a warm LLM call', async () => {
    const { reads } = counting;
    const beforeCold = { ...reads };
    expect((await run()).status).toBe('completed');
    // The cold call read both (so the counter sees these queries at all).
    expect(reads.credentials).toBeGreaterThan(beforeCold.credentials);
    expect(reads.settings).toBeGreaterThan(beforeCold.settings);
    const warm = { ...reads };
    const hits = await counter(worker.metrics, 'providerClientCacheTotal', { provider: 'openai', result: 'hit' });
    for (let i = 0; i < 3; i += 1) expect((await run()).status).toBe('completed');
    expect(reads).toEqual(warm);
    expect(await counter(worker.metrics, 'providerClientCacheTotal', { provider: 'openai', result: 'hit' })).toBe(hits + 3);
  });

  it('keeps the workspace\'s settings for an unpriced model, and applies a fallback price announced over the control bus to the next call', async () => {
    const unpriced = await call(api, 'POST', '/v1/flows', ws.apiKey, {
      name: 'one-unpriced-llm', nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model: 'ft:gpt-4o-mini:acme::cache', prompt: 'Hello {{input.who}}', stream: false }], edges: [],
    });
    expect(unpriced.status).toBe(201);
    const runUnpriced = async (): Promise<Record<string, any>> => {
      const res = await call(api, 'POST', `/v1/flows/${unpriced.body.id as string}/executions`, ws.apiKey, { input: { who: 'price' }, wait: true, timeoutMs: RUN_MS });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const { reads } = counting;
    expect(await runUnpriced()).toMatchObject({ status: 'completed', pricing: 'unpriced' });
    // A model the price table lacks asks for the workspace's fallback price on every call: the
    // settings the client was built with answer it, without a query.
    const warm = { ...reads };
    for (let i = 0; i < 3; i += 1) expect(await runUnpriced()).toMatchObject({ status: 'completed', pricing: 'unpriced' });
    expect(reads).toEqual(warm);

    const before = await invalidations('fallback_price');
    const droppedBefore = await counter(worker.metrics, 'providerClientCacheTotal', { provider: 'openai', result: 'invalidated' });
    expect((await call(api, 'PATCH', '/v1/workspace', ws.apiKey, { fallbackPrice: { inputPer1M: 3, outputPer1M: 12 } })).status).toBe(200);
    await received('fallback_price', before);
    // (The api's answer to the PATCH read the settings too.)
    const patched = reads.settings;
    const priced = await runUnpriced();
    expect(priced).toMatchObject({ status: 'completed', pricing: 'fallback' });
    expect(priced.nodes[0].cost.inputCost).toBeCloseTo((priced.nodes[0].usage.promptTokens * 3) / 1e6, 12);
    // The settings were read once more; the client (no part of it changed) was kept.
    expect(reads.settings).toBe(patched + 1);
    expect(await counter(worker.metrics, 'providerClientCacheTotal', { provider: 'openai', result: 'invalidated' })).toBe(droppedBefore);

    const cleared = await invalidations('fallback_price');
    expect((await call(api, 'PATCH', '/v1/workspace', ws.apiKey, { fallbackPrice: null })).status).toBe(200);
    await received('fallback_price', cleared);
    expect(await runUnpriced()).toMatchObject({ status: 'completed', pricing: 'unpriced' });
  });

  it('uses a key stored through the api on the next call, and fails the next call after a deletion', async () => {
    expect((await run()).status).toBe('completed');
    let before = await invalidations('credential');
    expect((await call(api, 'PUT', '/v1/credentials/openai', ws.apiKey, { apiKey: OTHER_KEY, baseUrl: `${mock.url}/v1` })).status).toBe(204);
    await received('credential', before);
    // The mock refuses any key but GOOD_KEY: the worker sent the new one.
    expect(await run()).toMatchObject({ status: 'failed', code: 'llm_auth' });

    before = await invalidations('credential');
    expect((await call(api, 'PUT', '/v1/credentials/openai', ws.apiKey, { apiKey: GOOD_KEY, baseUrl: `${mock.url}/v1` })).status).toBe(204);
    await received('credential', before);
    expect((await run()).status).toBe('completed');

    before = await invalidations('credential');
    expect((await call(api, 'DELETE', '/v1/credentials/openai', ws.apiKey)).status).toBe(204);
    await received('credential', before);
    expect(await run()).toMatchObject({ status: 'failed', code: 'llm_no_credentials' });
    expect(worker.logs.join('')).toContain('provider clients invalidated');

    expect((await call(api, 'PUT', '/v1/credentials/openai', ws.apiKey, { apiKey: GOOD_KEY, baseUrl: `${mock.url}/v1` })).status).toBe(204);
    await waitFor(async () => (await run()).status === 'completed', { timeoutMs: 10_000, message: 'the restored key works' });
  });

  it('rebuilds the client behind the egress wall when the workspace turns private networks off, and back', async () => {
    expect((await run()).status).toBe('completed');
    let before = await invalidations('egress');
    expect((await call(api, 'PATCH', '/v1/workspace', ws.apiKey, { httpAllowPrivateNetworks: false })).status).toBe(200);
    await received('egress', before);
    // The mock is on loopback: the rebuilt client's guarded fetch refuses it.
    expect(await run()).toMatchObject({ status: 'failed', code: 'llm_address_blocked' });

    before = await invalidations('egress');
    expect((await call(api, 'PATCH', '/v1/workspace', ws.apiKey, { httpAllowPrivateNetworks: true })).status).toBe(200);
    await received('egress', before);
    expect((await run()).status).toBe('completed');
    // A fallback price alone does not touch the clients (nor count as an egress change).
    before = await invalidations('egress');
    expect((await call(api, 'PATCH', '/v1/workspace', ws.apiKey, { fallbackPrice: null })).status).toBe(200);
    expect((await run()).status).toBe('completed');
    expect(await invalidations('egress')).toBe(before);
  });

  it('picks up a change whose message was lost within the TTL, and not before on a long TTL', async () => {
    expect((await run()).status).toBe('completed');
    // Written behind the api's back: no message is published, as if it had been lost.
    const { credentials } = api.resources.database.repos;
    await credentials.put({ workspaceId: ws.id, provider: 'openai', apiKey: OTHER_KEY, baseUrl: `${mock.url}/v1` });
    // w1 trusts its client for 10 minutes: it still sends the old key.
    expect((await run()).status).toBe('completed');

    // A worker with a short TTL takes over: it reads the row again once its entry is that old.
    await worker.close();
    worker = await fleet.startWorker('w2', { WEFT_PROVIDER_CLIENT_CACHE_TTL_MS: '200' });
    await credentials.put({ workspaceId: ws.id, provider: 'openai', apiKey: GOOD_KEY, baseUrl: `${mock.url}/v1` });
    expect((await run()).status).toBe('completed');
    await credentials.put({ workspaceId: ws.id, provider: 'openai', apiKey: OTHER_KEY, baseUrl: `${mock.url}/v1` });
    const failed = await waitFor(async () => {
      const r = await run();
      return r.status === 'failed' ? r : null;
    }, { timeoutMs: 20_000, message: 'the short-TTL worker sends the key written without a message' });
    expect(failed.code).toBe('llm_auth');
    expect(await counter(worker.metrics, 'providerClientCacheTotal', { provider: 'openai', result: 'reload' })).toBeGreaterThan(0);
  });

  it('drops the workspace\'s clients when the workspace is deleted', async () => {
    const before = await invalidations('workspace_deleted');
    expect((await call(api, 'DELETE', `/v1/workspaces/${ws.id}`, FLEET_ADMIN_TOKEN)).status).toBe(202);
    await received('workspace_deleted', before);
    const line = worker.logs.find((l) => l.includes('provider clients invalidated') && l.includes('workspace_deleted'));
    expect(line).toContain(ws.id);
    expect(line).toContain('"dropped":1');
  });
});

describe('embedded mode: the in-process control bus drops the client too', () => {
  const ADMIN = 'embedded-admin-token-0123456789';
  let dataDir: string;
  let mock: MockLlm;
  let close: () => Promise<void>;
  let api: Pick<FleetApi, 'app'>;

  beforeAll(async () => {
    mock = await startMockLlm({ port: 0, host: '127.0.0.1', apiKey: GOOD_KEY });
    dataDir = await mkdtemp(join(tmpdir(), 'weft-clients-'));
    // Neither REDIS_URL nor DATABASE_URL: embedded mode, as `npm start` runs it.
    const config = loadConfig({ WEFT_DATA_DIR: dataDir, WEFT_ADMIN_TOKEN: ADMIN, WEFT_MASTER_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'silent', WEFT_MOCK_PROVIDER: 'false' }, 'all');
    const logger = createLogger({ level: 'silent', name: 'embedded-test' });
    const metrics = createMetrics();
    const resources = await createProcessResources({ config, logger, metrics, createDatabase });
    await resources.database.migrate();
    const app = await buildApp({ ...resources, config, logger, metrics });
    await app.ready();
    const worker = startWorkerRuntime({ ...resources, config, logger, metrics, createProvider });
    api = { app };
    close = async () => {
      await app.close();
      await worker.close({ graceMs: 1000 });
      await resources.close();
    };
  }, FLEET_START_MS);

  afterAll(async () => {
    await close?.();
    await mock?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('uses a key stored through the api on the very next call', async () => {
    const created = await call(api, 'POST', '/v1/workspaces', ADMIN, { name: 'embedded' });
    expect(created.status).toBe(201);
    const key = created.body.apiKey as string;
    expect((await call(api, 'PATCH', '/v1/workspace', key, { httpAllowPrivateNetworks: true })).status).toBe(200);
    expect((await call(api, 'PUT', '/v1/credentials/openai', key, { apiKey: GOOD_KEY, baseUrl: `${mock.url}/v1` })).status).toBe(204);
    const flow = await call(api, 'POST', '/v1/flows', key, {
      name: 'one-llm', nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Hello', stream: false }], edges: [],
    });
    const run = async (): Promise<{ status: string; code: string | undefined }> => {
      const res = await call(api, 'POST', `/v1/flows/${flow.body.id as string}/executions`, key, { input: {}, wait: true, timeoutMs: RUN_MS });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { status: res.body.status as string, code: (res.body.nodes[0] as { error?: { code: string } }).error?.code };
    };
    expect((await run()).status).toBe('completed');
    // The in-process bus delivers before the PUT answers: no wait.
    expect((await call(api, 'PUT', '/v1/credentials/openai', key, { apiKey: OTHER_KEY, baseUrl: `${mock.url}/v1` })).status).toBe(204);
    expect(await run()).toMatchObject({ status: 'failed', code: 'llm_auth' });
    expect((await call(api, 'DELETE', '/v1/credentials/openai', key)).status).toBe(204);
    expect(await run()).toMatchObject({ status: 'failed', code: 'llm_no_credentials' });
  });
});
