/**
 * Worker pools, priority and per-workspace fairness (issue 11 §3, §4) on real processes: an api
 * and two workers of different pools, `w-llm` (WEFT_WORKER_NODE_TYPES=llm, one node at a time)
 * and `w-rest` (every other type), sharing one Redis and one Postgres.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { NODE_TYPES } from '@weft/shared/flow';
import { startGate, type Gate } from '../helpers/gate.js';
import { apiClient } from '../helpers/http.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, TEST_ADMIN_TOKEN, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { useMockCredentials } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';

type Call = ReturnType<typeof apiClient>;

const REST_TYPES = NODE_TYPES.filter((t) => t !== 'llm').join(',');

describe('worker pools, priority and fairness: api + an llm pool + a pool of the other types', () => {
  let svc: TestServices;
  let mock: MockLlm;
  let gate: Gate;
  let stack: DistributedStack;
  let db: pg.Client;

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    gate = await startGate(mock.url);
    stack = await startDistributedStack({
      ...svc,
      workers: ['w-llm', 'w-rest'],
      env: { WEFT_BREAKER_MIN_REQUESTS: '100000' },
      workerEnv: {
        'w-llm': { WEFT_WORKER_NODE_TYPES: 'llm', WORKER_CONCURRENCY: '1' },
        'w-rest': { WEFT_WORKER_NODE_TYPES: REST_TYPES, WORKER_CONCURRENCY: '6' },
      },
    });
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await gate?.close();
    await mock?.close();
    await svc?.cleanup();
  });

  async function workspace(name: string): Promise<Call> {
    const apiKey = await stack.createWorkspace(name);
    await useMockCredentials(stack.baseUrl, apiKey, gate);
    return apiClient(stack.baseUrl, apiKey);
  }

  async function createFlow(call: Call, flow: unknown): Promise<string> {
    const res = await call('POST', '/v1/flows', flow);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  /** The flushed node runs of executions, once every one of them has `perExecution` rows. */
  async function nodeRuns(executionIds: readonly string[], perExecution: number): Promise<Array<{ execution_id: string; node_id: string; worker_id: string; started_at: Date; finished_at: Date }>> {
    return waitFor(async () => {
      const r = await db.query('select execution_id, node_id, worker_id, started_at, finished_at from node_runs where execution_id = any($1::uuid[])', [executionIds]);
      return r.rows.length === executionIds.length * perExecution ? r.rows : null;
    }, { timeoutMs: 60_000, message: 'node runs flushed' });
  }


  async function queueWaiting(queue: string): Promise<number> {
    const res = await apiClient(stack.baseUrl)('GET', '/v1/queues', undefined, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    const item = (res.body.items as Array<{ queue: string; waiting: number }>).find((q) => q.queue === queue);
    return item?.waiting ?? 0;
  }

  async function start(call: Call, flowId: string, body: Record<string, unknown>): Promise<string> {
    const res = await call('POST', `/v1/flows/${flowId}/executions`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.executionId as string;
  }

  async function allEnded(call: Call, executionIds: readonly string[]): Promise<void> {
    await waitFor(async () => {
      for (const id of executionIds) {
        const r = await call('GET', `/v1/executions/${id}`);
        if (r.body.status !== 'completed') return false;
      }
      return true;
    }, { timeoutMs: 120_000, intervalMs: 200, message: 'every execution completed' });
  }

  it('runs each node in the pool of its type, across both pools in one flow', async () => {
    gate.open();
    const call = await workspace('pools');
    const flowId = await createFlow(call, {
      name: 'crosses-pools',
      nodes: [
        { id: 'first', type: 'transform', expression: '{ "topic": input.topic }' },
        { id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', stream: false, prompt: 'About {{first.output.topic}}' },
        { id: 'last', type: 'transform', expression: '$length(nodes.ask) > 0' },
      ],
      edges: [{ from: 'first', to: 'ask' }, { from: 'ask', to: 'last' }],
    });
    const run = await call('POST', `/v1/flows/${flowId}/executions`, { input: { topic: 'pools' }, wait: true });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body.status, JSON.stringify(run.body.error)).toBe('completed');
    const rows = await nodeRuns([run.body.id as string], 3);
    const workerOf = Object.fromEntries(rows.map((r) => [r.node_id, r.worker_id]));
    expect(workerOf).toEqual({ first: 'w-rest', ask: 'w-llm', last: 'w-rest' });
  }, 90_000);

  it("takes a high-priority execution's node ahead of the low-priority ones queued before it", async () => {
    const call = await workspace('priority');
    const flowId = await createFlow(call, {
      name: 'one-call',
      nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', stream: false, prompt: 'Number {{input.n}}' }],
      edges: [],
    });
    // The llm pool runs one node at a time: the first low call holds it at the gate, the rest queue.
    gate.reset();
    gate.hold();
    const lows: string[] = [];
    for (let n = 0; n < 4; n++) lows.push(await start(call, flowId, { input: { n }, priority: 'low' }));
    await waitFor(async () => gate.waiting() === 1 && (await queueWaiting('weft-nodes-llm')) === 3, { timeoutMs: 30_000, message: 'one low call at the gate, three queued' });
    const high = await start(call, flowId, { input: { n: 99 }, priority: 'high' });
    await waitFor(async () => (await queueWaiting('weft-nodes-llm')) === 4, { timeoutMs: 30_000, message: 'the high one queued too' });
    gate.open();
    await allEnded(call, [...lows, high]);

    const rows = await nodeRuns([...lows, high], 1);
    const startedAt = new Map(rows.map((r) => [r.execution_id, r.started_at.getTime()]));
    const lowStarts = lows.map((id) => startedAt.get(id)!).sort((a, b) => a - b);
    const highStart = startedAt.get(high)!;
    // The first low was running already; the high one went before every low still queued.
    expect(highStart).toBeGreaterThan(lowStarts[0]!);
    for (const queuedLow of lowStarts.slice(1)) expect(highStart).toBeLessThan(queuedLow);
    expect(new Set(rows.map((r) => r.worker_id))).toEqual(new Set(['w-llm']));
  }, 120_000);
});
