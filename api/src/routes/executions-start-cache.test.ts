/**
 * The start path's cached flow versions, with two api instances on one database: a start answered
 * from one instance's cache never runs a version another instance replaced, a flow another
 * instance deleted, or a flow of another workspace; the cache only saves the read.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlowFixture } from '../../../test/fixtures/flows/flow-fixtures.js';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let a: TestApp;
let b: TestApp;
let apiKey: string;
let otherKey: string;

beforeAll(async () => {
  services = await createTestServices();
  // One master key: both instances authenticate the same API keys.
  const env = { WEFT_MASTER_KEY: randomBytes(32).toString('base64') };
  a = await createTestApp({ databaseUrl: services.databaseUrl, env });
  b = await createTestApp({ databaseUrl: services.databaseUrl, env });
  ({ apiKey } = await a.createWorkspace('start-cache'));
  ({ apiKey: otherKey } = await a.createWorkspace('other'));
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

async function start(t: TestApp, flowId: string, payload: object = {}, key = apiKey): Promise<{ status: number; version?: number; body: string }> {
  const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers: auth(key), payload });
  if (res.statusCode !== 202) return { status: res.statusCode, body: res.body };
  const { executionId } = res.json<{ executionId: string }>();
  const got = await t.app.inject({ method: 'GET', url: `/v1/executions/${executionId}`, headers: auth(key) });
  return { status: 202, version: got.json<{ flowVersion: number }>().flowVersion, body: res.body };
}

/** The instance's start counter by result (hit, miss, stale). */
async function cacheCounts(t: TestApp): Promise<Record<string, number>> {
  const metric = await t.deps.metrics.startFlowCacheTotal.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.result), v.value]));
}

const delta = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));

describe('start path: cached flow versions', () => {
  it('starts the latest version from the cache, and sees a version written or a flow deleted by another instance', async () => {
    const created = await a.app.inject({ method: 'POST', url: '/v1/flows', headers: auth(apiKey), payload: loadFlowFixture('chain') as object });
    const flowId = created.json<{ id: string }>().id;

    let before = await cacheCounts(b);
    expect((await start(b, flowId)).version).toBe(1);
    expect((await start(b, flowId)).version).toBe(1);
    expect(delta(await cacheCounts(b), before)).toEqual({ miss: 1, hit: 1 });

    // Version 2, written through the other instance: b's cached "latest is 1" is stale.
    const put = await a.app.inject({ method: 'PUT', url: `/v1/flows/${flowId}`, headers: auth(apiKey), payload: loadFlowFixture('diamond') as object });
    expect(put.statusCode, put.body).toBe(200);
    before = await cacheCounts(b);
    expect((await start(b, flowId)).version).toBe(2);
    expect((await start(b, flowId)).version).toBe(2);
    expect(delta(await cacheCounts(b), before)).toEqual({ stale: 1, hit: 1 });

    // A pinned old version still starts, from the cache.
    expect((await start(b, flowId, { version: 1 })).version).toBe(1);
    expect((await start(b, flowId, { version: 9 })).status).toBe(404);

    // Another workspace names the flow: not found, whatever b has cached.
    expect((await start(b, flowId, {}, otherKey)).status).toBe(404);
    expect((await start(b, flowId, { version: 2 }, otherKey)).status).toBe(404);

    // Deleted through the other instance: nothing starts, pinned or not.
    const rows = async (): Promise<number> => {
      const listed = await a.app.inject({ method: 'GET', url: `/v1/executions?flowId=${flowId}&limit=100`, headers: auth(apiKey) });
      return listed.json<{ items: unknown[] }>().items.length;
    };
    const written = await rows();
    expect((await a.app.inject({ method: 'DELETE', url: `/v1/flows/${flowId}`, headers: auth(apiKey) })).statusCode).toBe(204);
    expect((await start(b, flowId)).status).toBe(404);
    expect((await start(b, flowId, { version: 1 })).status).toBe(404);
    expect(await rows()).toBe(written);
  });

  it('answers an Idempotency-Key replay with the first execution, beside cached starts', async () => {
    const created = await a.app.inject({ method: 'POST', url: '/v1/flows', headers: auth(apiKey), payload: loadFlowFixture('chain') as object });
    const flowId = created.json<{ id: string }>().id;
    await start(b, flowId);
    const headers = { ...auth(apiKey), 'idempotency-key': `key-${flowId}` };
    const first = await b.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers, payload: {} });
    const again = await b.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers, payload: {} });
    expect(first.statusCode).toBe(202);
    expect(again.json()).toEqual(first.json());
  });
});

describe('start path: Idempotency-Key', () => {
  it('replays the same request, and refuses the key with another one: 422 idempotency_key_reused, nothing started', async () => {
    const created = await a.app.inject({ method: 'POST', url: '/v1/flows', headers: auth(apiKey), payload: loadFlowFixture('chain') as object });
    const flowId = created.json<{ id: string }>().id;
    const headers = { ...auth(apiKey), 'idempotency-key': `reuse-${flowId}` };
    const post = (t: TestApp, payload: object) => t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers, payload });
    const first = await post(a, { input: { topic: 'x', n: [1, { b: 2, a: 1 }] }, maxCostUsd: 5 });
    expect(first.statusCode, first.body).toBe(202);
    const { executionId } = first.json<{ executionId: string }>();

    // The same request: key order inside the input and the answer-shaping fields do not matter.
    for (const payload of [{ maxCostUsd: 5, input: { n: [1, { a: 1, b: 2 }], topic: 'x' } }, { input: { topic: 'x', n: [1, { b: 2, a: 1 }] }, maxCostUsd: 5, wait: false, timeoutMs: 5 }]) {
      const again = await post(b, payload);
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json<{ executionId: string }>().executionId).toBe(executionId);
    }
    // Another input, budget or version: refused, with the key's path.
    for (const payload of [{ input: { topic: 'y', n: [1, { b: 2, a: 1 }] }, maxCostUsd: 5 }, { input: { topic: 'x', n: [1, { b: 2, a: 1 }] } }, { input: { topic: 'x', n: [1, { b: 2, a: 1 }] }, maxCostUsd: 5, version: 1 }]) {
      const refused = await post(b, payload);
      expect(refused.statusCode, refused.body).toBe(422);
      expect(refused.json()).toMatchObject({ error: { code: 'idempotency_key_reused', details: [{ path: '/headers/idempotency-key' }] } });
    }
    const listed = await a.app.inject({ method: 'GET', url: `/v1/executions?flowId=${flowId}`, headers: auth(apiKey) });
    expect(listed.json<{ items: Array<{ id: string }> }>().items.map((e) => e.id)).toEqual([executionId]);
  });
});
