/**
 * Redis loses an execution's hot state mid-run (no AOF, a failover): the recovery sweep finds
 * it running in Postgres without hot state, rebuilds it from node_runs, and the execution
 * finishes — the node that had completed is not paid again, the one still running commits
 * into the rebuilt state.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { apiClient } from '../helpers/http.js';
import { readSse } from '../e2e/scenarios.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack } from '../helpers/stack.js';
import { useMockCredentials } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';

describe('hot state lost in Redis', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let mock: MockLlm;
  let redis: Redis;
  let db: pg.Client;

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    stack = await startDistributedStack({ ...svc, workers: ['w1', 'w2'], env: { WEFT_SWEEP_INTERVAL_MS: '200', WEFT_SWEEP_MIN_AGE_MS: '300' } });
    redis = new Redis(svc.redisUrl);
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await redis?.quit();
    await stack?.stop();
    await mock?.close();
    await svc?.cleanup();
  });

  it('rebuilds it from node_runs and the execution completes without re-running what completed', async () => {
    const apiKey = await stack.createWorkspace('lost-state');
    await useMockCredentials(stack.baseUrl, apiKey, mock);
    const call = apiClient(stack.baseUrl, apiKey);
    const flow = await call('POST', '/v1/flows', {
      name: 'lost-state',
      nodes: [
        { id: 'first', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', stream: false, prompt: 'First about {{input.topic}}' },
        { id: 'second', type: 'llm', provider: 'openai', model: 'gpt-4o-mini/mock-slow-2500', stream: false, prompt: 'Second after {{first}}' },
        { id: 'third', type: 'transform', expression: '$length(nodes.second) > 0' },
      ],
      edges: [{ from: 'first', to: 'second' }, { from: 'second', to: 'third' }],
    });
    expect(flow.status).toBe(201);
    mock.reset();
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { topic: 'durability' } });
    const executionId = start.body.executionId as string;

    // `first` is done and in Postgres; `second` is on the wire.
    await waitFor(async () => {
      const r = await db.query("select 1 from node_runs where execution_id = $1 and node_id = 'first'", [executionId]);
      return r.rows.length === 1 && mock.active === 1;
    }, { timeoutMs: 10_000, message: 'first flushed, second running' });
    const keys = await redis.keys(`*{${executionId}}*`);
    expect(keys.length).toBeGreaterThan(3);
    await redis.del(...keys);

    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
    }, { timeoutMs: 30_000, message: 'execution finished after the rebuild' });
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.output).toEqual({ third: true });
    const prompts = mock.requests.map((r) => JSON.stringify((r.body as any)?.messages));
    expect(prompts.filter((p) => p.includes('First about durability'))).toHaveLength(1);
    // `second` commits into the rebuilt state (once more only if the rebuild came after its commit).
    expect(prompts.filter((p) => p.includes('Second after')).length).toBeGreaterThanOrEqual(1);
    expect(prompts.filter((p) => p.includes('Second after')).length).toBeLessThanOrEqual(2);

    const sse = await readSse(`${stack.baseUrl}/v1/executions/${executionId}/events`, { authorization: `Bearer ${apiKey}` });
    const resumed = sse.frames.map((f) => f.data).find((e) => e.type === 'execution.resumed');
    expect(resumed?.data).toMatchObject({ recovered: true, kept: 1 });
    const metrics = await Promise.all(stack.workers.map(async (w) => (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text()));
    expect(metrics.some((m) => /weft_recovered_total\{kind="hot_state"[^}]*\} [1-9]/.test(m))).toBe(true);
  }, 60_000);
});
