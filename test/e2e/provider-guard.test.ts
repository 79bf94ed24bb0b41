/**
 * The provider guard on real processes: one api and two workers sharing Redis and Postgres.
 * The fleet-wide rate limit holds across both workers (the limiter's own record of the starts it
 * admitted, on Redis' clock, and the mock's count of what reached it), and throttling re-delays
 * nodes without spending attempts; a storm of 500s opens each worker's circuit, after which a node
 * is re-delayed without a request, not failed.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { rateLimitKeys } from '../../shared/src/adapters/redis/redis-rate-limiter.js';
import { apiClient } from '../helpers/http.js';
import { startDistributedStack, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/** Requests per second allowed to each (workspace, provider), fleet-wide. */
const R = 3;

type Call = ReturnType<typeof apiClient>;

/** The most of `times` that fall in one window [t, t + windowMs). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    let n = 0;
    for (let j = i; j < sorted.length && sorted[j]! < sorted[i]! + windowMs; j += 1) n += 1;
    max = Math.max(max, n);
  }
  return max;
}

function oneLlmNodeFlow(name: string, model: string, extra: Record<string, unknown> = {}): unknown {
  return { name, nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model, prompt: 'Say hello to {{input.who}}', ...extra }], edges: [] };
}

/** Sum of a metric's samples whose labels include every `labels` pair, from a Prometheus text page. */
function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('provider guard: fleet rate limit and circuit breaker across 2 workers', () => {
  let svc: TestServices;
  let mock: MockLlm;
  let stack: DistributedStack;
  const workerUrls: string[] = [];
  let baseUrl: string;
  let db: pg.Client;
  let redis: Redis;

  const newWorkspace = async (name: string): Promise<Call> => {
    const call = apiClient(baseUrl, await stack.createWorkspace(name));
    // The mock listens on loopback: provider calls reach it only where the workspace allows private networks.
    expect((await call('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
    const cred = await call('PUT', '/v1/credentials/openai', { apiKey: 'sk-test-e2e-key', baseUrl: `${mock.url}/v1` });
    expect(cred.status).toBe(204);
    return call;
  };
  const createFlow = async (call: Call, flow: unknown): Promise<string> => {
    const res = await call('POST', '/v1/flows', flow);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const start = async (call: Call, flowId: string, who: string): Promise<string> => {
    const res = await call('POST', `/v1/flows/${flowId}/executions`, { input: { who } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.executionId as string;
  };
  const workerMetrics = (): Promise<string[]> => Promise.all(workerUrls.map(async (url) => (await fetch(`${url}/metrics`)).text()));

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    stack = await startDistributedStack({
      ...svc,
      workers: ['w1', 'w2'],
      env: {
        // Far more slots than requests: the rate limit, not concurrency, is what binds.
        WORKER_CONCURRENCY: '20',
        WEFT_PROVIDER_RATE_LIMITS: JSON.stringify({ openai: { requestsPerSecond: R } }),
        // Two provider failures in the window open a worker's circuit; it stays open for the test.
        WEFT_BREAKER_MIN_REQUESTS: '2',
        WEFT_BREAKER_RESET_MS: '60000',
      },
    });
    baseUrl = stack.baseUrl;
    workerUrls.push(...stack.workers.map((w) => `http://127.0.0.1:${w.port}`));
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
    redis = new Redis(svc.redisUrl);
    // Warm both workers' provider path (SDK client, first connection) in a workspace of its own,
    // so that a cold first call's slower transit does not blur the measured arrivals.
    const warm = await newWorkspace('warm-up');
    const warmFlow = await createFlow(warm, oneLlmNodeFlow('warm-up', 'gpt-4o-warm-up'));
    const warmIds = await Promise.all(Array.from({ length: R }, (_, i) => start(warm, warmFlow, `warm-up ${i}`)));
    await waitFor(async () => {
      const docs = await Promise.all(warmIds.map(async (id) => (await warm('GET', `/v1/executions/${id}`)).body));
      return docs.every((d) => d.status === 'completed');
    }, { timeoutMs: 30_000, intervalMs: 50, message: 'warm-up executions completed' });
  }, STACK_START_MS);

  afterAll(async () => {
    await redis?.quit();
    await db?.end();
    await stack?.stop();
    await mock?.close();
    await svc?.cleanup();
  });

  it(`keeps 2 workers together under ${R} requests per second; throttled nodes spend no attempt`, async () => {
    const call = await newWorkspace('throttled');
    const model = 'gpt-4o-throttled';
    const flowId = await createFlow(call, oneLlmNodeFlow('throttled', model));
    const ids = await Promise.all(Array.from({ length: 3 * R }, (_, i) => start(call, flowId, `caller ${i}`)));

    await waitFor(async () => {
      const docs = await Promise.all(ids.map(async (id) => (await call('GET', `/v1/executions/${id}`)).body));
      const bad = docs.find((d) => d.status === 'failed' || d.status === 'cancelled');
      if (bad) throw new Error(`execution ${bad.id as string} ended ${bad.status as string}: ${JSON.stringify(bad.error)}`);
      return docs.every((d) => d.status === 'completed');
    }, { timeoutMs: 30_000, intervalMs: 100, message: 'every execution completed' });

    // Every call reached the provider once.
    expect(mock.requests.filter((r) => r.model === model)).toHaveLength(3 * R);
    // The limiter's decisions, on the clock it decides by (Redis'): it admitted those 3R starts,
    // never more than R in any 1000 ms, so they spread over at least two seconds. When they reach
    // the provider depends on the machine's scheduling as well (its windows carry a margin for
    // that); what the fleet admitted does not.
    const workspaceId = (await call('GET', '/v1/workspace')).body.id as string;
    const scored = await redis.zrange(rateLimitKeys(svc.prefix, `${workspaceId}/openai`).starts, '0', '-1', 'WITHSCORES');
    const starts = scored.filter((_, i) => i % 2 === 1).map(Number);
    expect(starts).toHaveLength(3 * R);
    const gaps = starts.map((t) => t - starts[0]!);
    expect(maxInWindow(starts, 1000), `admitted (ms after the first, Redis clock): ${gaps.join(', ')}`).toBeLessThanOrEqual(R);
    expect(gaps.at(-1)!).toBeGreaterThanOrEqual(2000);

    const runs = await waitFor(async () => {
      const r = await db.query('select node_id, status, attempts, worker_id from node_runs where execution_id = any($1)', [ids]);
      return r.rows.length === ids.length ? r.rows : null;
    }, { timeoutMs: 15_000, message: 'node runs flushed' });
    for (const run of runs) {
      expect(run.status).toBe('completed');
      expect(run.attempts).toBe(1);
    }
    // Both workers took part, so the limit held across processes, not within one.
    expect(new Set(runs.map((r) => r.worker_id))).toEqual(new Set(['w1', 'w2']));
    const throttled = (await workerMetrics()).reduce((sum, text) => sum + metricValue(text, 'weft_provider_throttled_total', { provider: 'openai', reason: 'second' }), 0);
    expect(throttled).toBeGreaterThan(0);
  });

  it('opens each worker\'s circuit on a storm of 500s; then a node is re-delayed without a request, not failed', async () => {
    const call = await newWorkspace('storm');
    const stormFlow = await createFlow(call, oneLlmNodeFlow('storm', 'gpt-4o/mock-500', { retry: { attempts: 1 } }));
    const bothOpen = async (): Promise<boolean> =>
      (await workerMetrics()).every((text) => metricValue(text, 'weft_circuit_state', { provider: 'openai' }) === 2);

    // Storm executions, two at a time, until both workers' circuits are open. Each round waits
    // until its nodes were handled: failed by a 500, or re-delayed by a circuit already open on
    // the worker that took it.
    const handled = async (): Promise<number> =>
      (await workerMetrics()).reduce((sum, text) => sum + metricValue(text, 'weft_errors_total', { code: 'LLM_SERVER_ERROR' }) + metricValue(text, 'weft_errors_total', { code: 'LLM_CIRCUIT_OPEN' }), 0);
    let storms = 0;
    while (!(await bothOpen())) {
      expect(storms, 'storm executions needed to open both circuits').toBeLessThan(30);
      const before = await handled();
      await Promise.all([start(call, stormFlow, `storm ${storms}`), start(call, stormFlow, `storm ${storms + 1}`)]);
      storms += 2;
      await waitFor(async () => (await handled()) >= before + 2, { timeoutMs: 10_000, intervalMs: 25, message: 'storm nodes handled' });
    }

    const model = 'gpt-4o-check/mock-500';
    const checkFlow = await createFlow(call, oneLlmNodeFlow('check', model, { retry: { attempts: 1 } }));
    const refusalsBefore = (await workerMetrics()).reduce((sum, text) => sum + metricValue(text, 'weft_errors_total', { code: 'LLM_CIRCUIT_OPEN' }), 0);
    const id = await start(call, checkFlow, 'after the storm');
    // The node ran and was refused by an open circuit…
    await waitFor(async () => {
      const refusals = (await workerMetrics()).reduce((sum, text) => sum + metricValue(text, 'weft_errors_total', { code: 'LLM_CIRCUIT_OPEN' }), 0);
      return refusals > refusalsBefore;
    }, { timeoutMs: 10_000, message: 'a circuit-open refusal' });
    // …and for a while after that (the circuits stay open for a minute) it never reaches the
    // provider and does not fail: absence can only be observed over time.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(mock.requests.filter((r) => r.model === model)).toHaveLength(0);
    const doc = (await call('GET', `/v1/executions/${id}`)).body;
    expect(doc.status).toBe('running');
    const node = doc.nodes.find((n: any) => n.nodeId === 'ask');
    expect(['queued', 'running', 'retrying', 'pending']).toContain(node.status);
    expect(node.error).toBeNull();
  });
});
