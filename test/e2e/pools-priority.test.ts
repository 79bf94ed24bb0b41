/**
 * Worker pools, priority and per-workspace fairness (issue 11 §3, §4) on real processes: an api
 * and two workers of different pools, `w-llm` (WEFT_WORKER_NODE_TYPES=llm, one node at a time)
 * and `w-rest` (every other type), sharing one Redis and one Postgres.
 */
import { executionKeys } from '../../shared/src/adapters/redis/keys.js';
import type { ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { NODE_TYPES } from '@weft/shared/flow';
import { startGate, type Gate } from '../helpers/gate.js';
import { startLocalServer, type LocalServer } from '../helpers/loopback-harness.js';
import { apiClient } from '../helpers/http.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, TEST_ADMIN_TOKEN, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { useMockCredentials } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';

type Call = ReturnType<typeof apiClient>;

const REST_TYPES = NODE_TYPES.filter((t) => t !== 'llm').join(',');
/** WEFT_WORKSPACE_MAX_ACTIVE_NODES of the stack: below w-rest's 6 slots, so the cap is what binds. */
const CAP = 3;

describe('worker pools, priority and fairness: api + an llm pool + a pool of the other types', () => {
  let svc: TestServices;
  let mock: MockLlm;
  let gate: Gate;
  let stack: DistributedStack;
  let db: pg.Client;
  let redis: Redis;
  let server: LocalServer;
  /** Answers of `/hold` requests kept back while `holding`. */
  const held: ServerResponse[] = [];
  let holding = true;

  beforeAll(async () => {
    svc = await createTestServices();
    server = await startLocalServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url.startsWith('/hold') && holding) held.push(res);
      else res.end('{"ok":true}');
    });
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    gate = await startGate(mock.url);
    stack = await startDistributedStack({
      ...svc,
      workers: ['w-llm', 'w-rest'],
      env: { WEFT_BREAKER_MIN_REQUESTS: '100000', WEFT_WORKSPACE_MAX_ACTIVE_NODES: String(CAP) },
      workerEnv: {
        'w-llm': { WEFT_WORKER_NODE_TYPES: 'llm', WORKER_CONCURRENCY: '1' },
        'w-rest': { WEFT_WORKER_NODE_TYPES: REST_TYPES, WORKER_CONCURRENCY: '6' },
      },
    });
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
    redis = new Redis(svc.redisUrl);
  }, STACK_START_MS);

  afterAll(async () => {
    for (const res of held.splice(0)) res.end('{}');
    await redis?.quit();
    await server?.close();
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

  it("caps a workspace's node jobs in flight fleet-wide; another workspace's node starts while its backlog waits", async () => {
    const a = await workspace('burst-a');
    const b = await workspace('quiet-b');
    const aId = (await a('GET', '/v1/workspace')).body.id as string;
    const activeKey = `${svc.prefix}:nodes:{${aId}}:active`;
    const aFlow = await createFlow(a, {
      name: 'burst',
      nodes: [{ id: 'call', type: 'http', method: 'GET', url: `${server.origin}/hold` }, { id: 'after', type: 'transform', expression: 'nodes.call.status' }],
      edges: [{ from: 'call', to: 'after' }],
    });
    const bFlow = await createFlow(b, { name: 'quiet', nodes: [{ id: 'call', type: 'http', method: 'GET', url: `${server.origin}/now` }], edges: [] });

    // A bursts 200 executions; its calls are held, so its slots stay taken.
    const BURST = 200;
    const aIds: string[] = [];
    for (let i = 0; i < BURST; i += 20) {
      aIds.push(...await Promise.all(Array.from({ length: Math.min(20, BURST - i) }, () => start(a, aFlow, {}))));
    }
    await waitFor(() => held.length === CAP, { timeoutMs: 30_000, message: `${CAP} of A's calls in flight` });
    // Every other node job of A went through its queue and was deferred: A's line holds them.
    await waitFor(async () => (await redis.zcard(`${svc.prefix}:nodes:{${aId}}:parked`)) === BURST - CAP, { timeoutMs: 60_000, message: "A's other jobs parked in line" });
    expect(held).toHaveLength(CAP);
    expect(await redis.zcard(activeKey)).toBe(CAP);

    // B's node waits in the same queue behind A's backlog, and runs while none of A's is done.
    const bRun = await b('POST', `/v1/flows/${bFlow}/executions`, { wait: true, timeoutMs: 60_000 });
    expect(bRun.status, JSON.stringify(bRun.body)).toBe(200);
    expect(bRun.body.status).toBe('completed');
    const aDone = await db.query("select count(*)::int as n from node_runs where execution_id = any($1::uuid[]) and node_id = 'call'", [aIds]);
    expect(aDone.rows[0].n).toBe(0);

    // A's backlog drains, never more than CAP at once: sampled on the counter while it drains.
    holding = false;
    for (const res of held.splice(0)) res.end('{"ok":true}');
    let most = 0;
    await waitFor(async () => {
      most = Math.max(most, await redis.zcard(activeKey));
      const r = await db.query('select count(*)::int as n from executions where id = any($1::uuid[]) and status = $2', [aIds, 'completed']);
      return r.rows[0].n === BURST;
    }, { timeoutMs: 180_000, intervalMs: 20, message: "A's burst completed" });
    expect(most).toBeLessThanOrEqual(CAP);

    // The exact check: A's node runs never overlap more than CAP at once (an end before a start at the same instant).
    const rows = await nodeRuns(aIds, 2);
    const edges = rows.flatMap((r) => [{ at: r.started_at.getTime(), d: 1 }, { at: r.finished_at.getTime(), d: -1 }]).sort((x, y) => x.at - y.at || x.d - y.d);
    let running = 0;
    let peak = 0;
    for (const e of edges) {
      running += e.d;
      peak = Math.max(peak, running);
    }
    expect(peak).toBeLessThanOrEqual(CAP);
    expect(peak).toBeGreaterThan(1);
    // B's node started before half of A's backlog had finished (here: before any of it).
    const bRow = (await nodeRuns([bRun.body.id as string], 1))[0]!;
    const aFinishes = rows.filter((r) => r.node_id === 'after').map((r) => r.finished_at.getTime()).sort((x, y) => x - y);
    expect(bRow.started_at.getTime()).toBeLessThan(aFinishes[BURST / 2]!);

    // Deferrals are counted.
    const metrics = await fetch(`http://127.0.0.1:${stack.workers.find((w) => w.id === 'w-rest')!.port}/metrics`).then((r) => r.text());
    const deferred = /weft_node_deferrals_total\{[^}]*event="deferred"[^}]*\} (\d+)/.exec(metrics);
    expect(Number(deferred?.[1] ?? 0)).toBeGreaterThanOrEqual(BURST - CAP);
  }, 300_000);

  it('runs a fan-out side by side in one job up to the cap; the child over it waits in line', async () => {
    const c = await workspace('fan-c');
    const cId = (await c('GET', '/v1/workspace')).body.id as string;
    const activeKey = `${svc.prefix}:nodes:{${cId}}:active`;
    const branches = ['b1', 'b2', 'b3', 'b4'];
    const flow = await createFlow(c, {
      name: 'fan-out',
      nodes: [
        { id: 'first', type: 'transform', expression: '1' },
        ...branches.map((id) => ({ id, type: 'http', method: 'GET', url: `${server.origin}/hold/${id}` })),
      ],
      edges: branches.map((id) => ({ from: 'first', to: id })),
    });
    holding = true;
    const executionId = await start(c, flow, {});
    // w-rest has room for all four, the cap for three: first's job runs three children (its own
    // slot and two of the workspace's), the fourth goes to its queue and is deferred.
    await waitFor(() => held.length === CAP, { timeoutMs: 30_000, message: `${CAP} of the fan-out's calls in flight` });
    await waitFor(async () => (await redis.zcard(`${svc.prefix}:nodes:{${cId}}:parked`)) === 1, { timeoutMs: 30_000, message: 'the fourth child parked in line' });
    expect(held).toHaveLength(CAP);
    expect(await redis.zcard(activeKey)).toBe(CAP);
    const leases = await redis.hgetall(executionKeys(svc.prefix, executionId).leases);
    expect(Object.values(leases).filter((job) => job === `${executionId}.first`).length).toBeGreaterThanOrEqual(CAP);

    holding = false;
    for (const res of held.splice(0)) res.end('{"ok":true}');
    const done = await waitFor(async () => {
      const r = await c('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
    }, { timeoutMs: 60_000, message: 'the fan-out completed' });
    expect(done.status).toBe('completed');
    const rows = await nodeRuns([executionId], 5);
    expect(rows.map((r) => r.node_id).sort()).toEqual(['b1', 'b2', 'b3', 'b4', 'first']);
  }, 120_000);
});

