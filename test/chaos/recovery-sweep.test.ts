/**
 * The workers' recovery sweep, on one fleet (api + 2 workers sweeping every 200 ms):
 *
 * - The api dies between recording an execution and enqueueing its job: the sweep finds it
 *   queued and enqueues it, and it runs to the end.
 * - Redis loses an execution's hot state mid-run (no AOF, a failover): the sweep finds it
 *   running in Postgres without hot state, rebuilds it from node_runs, and the execution
 *   finishes — the node that had completed is not paid again, the one still running commits
 *   into the rebuilt state. The workers reach the mock through a gate that holds `second`'s call
 *   until the hot state is gone, so that call is provably still running when Redis loses it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@weft/db/database';
import type { WeftDatabase } from '@weft/db/repos';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { apiClient } from '../helpers/http.js';
import { readSse } from '../e2e/scenarios.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { startGate, type Gate } from '../helpers/gate.js';
import { useMockCredentials } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectRebuiltAndCompleted, holdAfterFirstFlushed } from '../e2e/recovery-scenarios.js';

describe('recovery sweep', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let mock: MockLlm;
  let gate: Gate;
  let redis: Redis;
  let db: pg.Client;
  let database: WeftDatabase;

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    gate = await startGate(mock.url);
    stack = await startDistributedStack({ ...svc, workers: ['w1', 'w2'], env: { WEFT_SWEEP_INTERVAL_MS: '200', WEFT_SWEEP_MIN_AGE_MS: '300' } });
    redis = new Redis(svc.redisUrl);
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
    database = await createDatabase({ url: svc.databaseUrl, masterKey: randomBytes(32) });
  }, STACK_START_MS);

  afterAll(async () => {
    await database?.close();
    await db?.end();
    await redis?.quit();
    await stack?.stop();
    await gate?.close();
    await mock?.close();
    await svc?.cleanup();
  });

  it('enqueues an execution that was recorded but never enqueued, and it completes', async () => {
    const apiKey = await stack.createWorkspace('sweep');
    const call = apiClient(stack.baseUrl, apiKey);
    const flow = await call('POST', '/v1/flows', { name: 'sweep', nodes: [{ id: 'double', type: 'transform', expression: 'input.n * 2' }], edges: [] });
    expect(flow.status).toBe(201);
    const workspaceId = (await call('GET', '/v1/workspace')).body.id as string;
    // What the api had written when it died: the row, and no job.
    const { execution } = await database.repos.executions.create({ workspaceId, flowId: flow.body.id, flowVersion: 1, input: { n: 21 } });
    expect(execution.status).toBe('queued');
    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${execution.id}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { timeoutMs: 15_000, message: 'swept execution completed' });
    expect(done.output).toEqual({ double: 42 });
    // One of the two workers' sweeps recovered it.
    const metrics = await Promise.all(stack.workers.map(async (w) => (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text()));
    expect(metrics.some((m) => /weft_recovered_total\{kind="queued_execution"[^}]*\} [1-9]/.test(m))).toBe(true);
  });

  it('rebuilds lost hot state from node_runs and the execution completes without re-running what completed', async () => {
    const apiKey = await stack.createWorkspace('lost-state');
    await useMockCredentials(stack.baseUrl, apiKey, gate);
    const target = { baseUrl: stack.baseUrl, apiKey, mock, gate };
    const { executionId } = await holdAfterFirstFlushed(target, db, 'durability', 'gpt-4o-mini/mock-slow-2500');
    const keys = await redis.keys(`*{${executionId}}*`);
    expect(keys.length).toBeGreaterThan(3);
    await redis.del(...keys);
    gate.open();
    await expectRebuiltAndCompleted(target, executionId);
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

  it('releases in-flight ids whose execution is gone or ended, and keeps a live one', async () => {
    const apiKey = await stack.createWorkspace('in-flight');
    const call = apiClient(stack.baseUrl, apiKey);
    const workspaceId = (await call('GET', '/v1/workspace')).body.id as string;
    const flow = await call('POST', '/v1/flows', { name: 'park', nodes: [{ id: 'approve', type: 'wait', event: 'approval' }] });
    const parked = (await call('POST', `/v1/flows/${flow.body.id}/executions`, {})).body.executionId as string;
    const cancelled = (await call('POST', `/v1/flows/${flow.body.id}/executions`, {})).body.executionId as string;
    expect((await call('POST', `/v1/executions/${cancelled}/cancel`)).status).toBe(202);
    await waitFor(async () => (await call('GET', `/v1/executions/${parked}`)).body.status === 'waiting', { timeoutMs: 15_000 });
    const key = `${svc.prefix}:inflight:{${workspaceId}}`;
    await waitFor(async () => !(await redis.sismember(key, cancelled)), { timeoutMs: 15_000, message: 'cancelled execution released' });
    // Releases that were lost: an id without a row, and the cancelled execution's id again.
    const ghost = '01900000-0000-7000-8000-000000000000';
    await redis.sadd(key, ghost, cancelled);
    await waitFor(async () => (await redis.smembers(key)).join() === parked, { timeoutMs: 15_000, message: 'only the live execution counted' });
    expect((await call('POST', `/v1/executions/${parked}/cancel`)).status).toBe(202);
  });
});
