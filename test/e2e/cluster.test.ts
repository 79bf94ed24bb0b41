/**
 * Distributed mode on a Redis Cluster (3 masters, no replicas, on loopback): the api and two
 * workers connect with REDIS_CLUSTER=true. Each execution's keys share its hash tag, so its
 * scripts run on one slot, and different executions spread over the masters. The scenarios are
 * those of the single-Redis suites: a chain, a diamond, a map, waits, cancel, a worker killed
 * mid-node, and hot state lost mid-run. The fleet runs with 4 queue shards: the queues and the
 * flush streams spread over the masters too.
 */
import { Cluster } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allShards, bullPrefix, executionKeys, flushStreamKey } from '../../shared/src/adapters/redis/keys.js';
import { QUEUES } from '../../shared/src/ports/job-queue.js';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { startGate, type Gate } from '../helpers/gate.js';
import { apiClient } from '../helpers/http.js';
import { connectWs } from '../helpers/ws-client.js';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../helpers/private-services.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack, STACK_START_MS, TEST_ADMIN_TOKEN } from '../helpers/stack.js';
import { SCENARIO_BREAKER, useMockCredentials } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';
import { cancelScenario, waitEventsScenario } from './control-scenarios.js';
import { mapConcurrencyScenario } from './map-scenarios.js';
import { expectRebuiltAndCompleted, holdAfterFirstFlushed } from './recovery-scenarios.js';
import { chainScenario, diamondScenario, readSse, type Target } from './scenarios.js';

/**
 * The cluster is private to this file, so the prefix is fixed: where the shards' tags land is then
 * known (`redis-cli --cluster create` gives 3 masters slots 0–5460, 5461–10922, 10923–16383;
 * `{weft:0}`…`{weft:3}` hash to 4568, 505, 12698 and 8635: all three masters).
 */
const prefix = 'weft';
const SHARDS = 4;

describe('distributed mode on a Redis Cluster of 3 masters', () => {
  let cluster: PrivateRedisCluster;
  let redis: Cluster;
  let svc: TestServices;
  let mock: MockLlm;
  let gate: Gate;
  let stack: DistributedStack;
  let target: Target;
  let db: pg.Client;

  beforeAll(async () => {
    cluster = await startPrivateRedisCluster();
    redis = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    gate = await startGate(mock.url);
    stack = await startDistributedStack({
      ...svc, prefix, redisUrl: cluster.urls.join(','), workers: ['w1', 'w2'],
      env: {
        REDIS_CLUSTER: 'true', WEFT_QUEUE_SHARDS: String(SHARDS), WORKER_CONCURRENCY: '4', ...SCENARIO_BREAKER,
        // A killed worker's job runs again within seconds; the sweep finds lost hot state fast.
        WEFT_QUEUE_LOCK_MS: '2000', WEFT_QUEUE_STALLED_INTERVAL_MS: '1000',
        WEFT_SWEEP_INTERVAL_MS: '200', WEFT_SWEEP_MIN_AGE_MS: '300',
        // Outputs over 2 KiB go through the claim check, blobs in their execution's slot.
        WEFT_CLAIM_CHECK_BYTES: '2048',
      },
    });
    const apiKey = await stack.createWorkspace('cluster');
    await useMockCredentials(stack.baseUrl, apiKey, gate);
    target = { baseUrl: stack.baseUrl, apiKey, mock, gate };
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await gate?.close();
    await mock?.close();
    redis?.disconnect();
    await svc?.cleanup();
    cluster?.destroy();
  });

  const finished = (executionId: string): Promise<any> => waitFor(async () => {
    const r = await apiClient(target.baseUrl, target.apiKey)('GET', `/v1/executions/${executionId}`);
    return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
  }, { timeoutMs: 45_000, message: `execution ${executionId} finished` });

  it('runs the 3-node chain and a diamond', async () => {
    await chainScenario(target);
    await diamondScenario(target);
  });

  it('runs a map across both workers', async () => {
    await mapConcurrencyScenario(target);
  });

  it('waits for approvals and webhooks and times a wait out; cancels across the fleet', async () => {
    await waitEventsScenario(target);
    await cancelScenario(target);
  });

  it('stores a large output apart in its execution\'s slot, and the next node reads it whole', async () => {
    const call = apiClient(target.baseUrl, target.apiKey);
    const flow = await call('POST', '/v1/flows', {
      name: 'large',
      nodes: [
        { id: 'big', type: 'transform', expression: '$join([1..2000].("x" & $string($)), ",")' },
        { id: 'measure', type: 'transform', expression: '$length(nodes.big)' },
      ],
      edges: [{ from: 'big', to: 'measure' }],
    });
    expect(flow.status).toBe(201);
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, {});
    const done = await finished(start.body.executionId as string);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    const expected = Array.from({ length: 2000 }, (_, i) => `x${String(i + 1)}`).join(',');
    expect(done.nodes.find((n: any) => n.nodeId === 'big').output).toMatchObject({ ref: expect.stringMatching(/^weft-blob:/), size: expected.length + 2 });
    expect(done.nodes.find((n: any) => n.nodeId === 'measure').output).toBe(expected.length);
    const inlined = await call('GET', `/v1/executions/${start.body.executionId as string}?include=outputs`);
    expect(inlined.body.nodes.find((n: any) => n.nodeId === 'big').output).toBe(expected);
  });

  it('spreads 100 executions over the masters: at least 2 of the 3 hold hot state', async () => {
    const call = apiClient(target.baseUrl, target.apiKey);
    const flow = await call('POST', '/v1/flows', { name: 'spread', nodes: [{ id: 'double', type: 'transform', expression: 'input.n * 2' }], edges: [] });
    expect(flow.status).toBe(201);
    const ids: string[] = [];
    for (let n = 0; n < 100; n++) {
      const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { n } });
      expect(start.status).toBe(202);
      ids.push(start.body.executionId as string);
    }
    await waitFor(async () => {
      const docs = await Promise.all(ids.map(async (id) => (await call('GET', `/v1/executions/${id}`)).body.status as string));
      return docs.every((s) => s === 'completed');
    }, { timeoutMs: 60_000, message: '100 executions completed' });
    const masters = redis.nodes('master');
    expect(masters).toHaveLength(3);
    const metas = new Set(ids.map((id) => executionKeys(prefix, id).meta));
    const holding = await Promise.all(masters.map(async (m) => {
      // SCAN on one master lists that master's keys only.
      let held = 0;
      for await (const keys of m.scanStream({ match: `${prefix}:{*}:meta`, count: 1000 }) as AsyncIterable<string[]>) {
        held += keys.filter((k) => metas.has(k)).length;
      }
      return held;
    }));
    // Every execution's meta is on exactly one master, and no one master has them all.
    expect(holding.reduce((a, b) => a + b, 0)).toBe(100);
    expect(holding.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('spreads the queue shards and the flush streams over the masters, each key in its shard\'s slot', async () => {
    const call = apiClient(target.baseUrl, target.apiKey);
    const flow = await call('POST', '/v1/flows', { name: 'shards', nodes: [{ id: 'one', type: 'transform', expression: 'input.n' }], edges: [] });
    const ids: string[] = [];
    for (let n = 0; n < 24; n++) ids.push((await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { n } })).body.executionId as string);
    await waitFor(async () => (await Promise.all(ids.map(async (id) => (await call('GET', `/v1/executions/${id}`)).body.status))).every((s) => s === 'completed'),
      { timeoutMs: 30_000, message: 'the executions completed' });
    const masters = redis.nodes('master');
    const slotOf = (key: string): Promise<number> => redis.cluster('KEYSLOT', key);
    const queueMasters = new Set<number>();
    const streamMasters = new Set<number>();
    for (const [index, master] of masters.entries()) {
      for await (const keys of master.scanStream({ match: `{${prefix}:*}:*`, count: 1000 }) as AsyncIterable<string[]>) {
        for (const key of keys) {
          const shard = allShards(SHARDS).find((s) => key.startsWith(`${bullPrefix(prefix, s, SHARDS)}:`));
          expect(shard, key).toBeDefined();
          expect(await slotOf(key)).toBe(await slotOf(bullPrefix(prefix, shard, SHARDS)));
          queueMasters.add(index);
        }
      }
      // SCAN on one master lists the keys of the slots it owns.
      for await (const keys of master.scanStream({ match: `${prefix}:flush:*`, count: 1000 }) as AsyncIterable<string[]>) {
        for (const key of keys) {
          expect(allShards(SHARDS).map((shard) => flushStreamKey(prefix, shard, SHARDS))).toContain(key);
          expect(await redis.type(key)).toBe('stream');
          streamMasters.add(index);
        }
      }
    }
    expect(queueMasters.size).toBeGreaterThanOrEqual(2);
    expect(streamMasters.size).toBeGreaterThanOrEqual(2);
    // The sharded queues left the one-slot prefix, and the one-shard flush stream is unused.
    const unsharded = await Promise.all(masters.map(async (m) => (await m.keys(`{${prefix}}:${QUEUES.nodes}:*`)).length));
    expect(unsharded.reduce((a, b) => a + b, 0)).toBe(0);
    expect(await redis.exists(flushStreamKey(prefix))).toBe(0);
  }, 60_000);

  it('delivers live events of executions in every slot to a WebSocket subscriber, through sharded pub/sub', async () => {
    const call = apiClient(target.baseUrl, target.apiKey);
    const flow = await call('POST', '/v1/flows', { name: 'live', nodes: [{ id: 'one', type: 'transform', expression: 'input.n' }], edges: [] });
    const flowId = flow.body.id as string;
    const socket = await connectWs(`${target.baseUrl.replace('http', 'ws')}/v1/ws`, { authorization: `Bearer ${target.apiKey}` });
    try {
      socket.send({ type: 'subscribe', flowId });
      await socket.waitForMessage((m) => m.type === 'subscribed');
      const ids: string[] = [];
      for (let n = 0; n < 12; n++) ids.push((await call('POST', `/v1/flows/${flowId}/executions`, { input: { n } })).body.executionId as string);
      // Executions whose keys sit on every master: each one's events came through pub/sub live.
      const completed = await waitFor(() => {
        const done = new Set(socket.messages.filter((m) => m.type === 'execution.completed').map((m) => m.executionId as string));
        return ids.every((id) => done.has(id)) ? done : null;
      }, { timeoutMs: 30_000, message: 'execution.completed of every execution on the socket' });
      expect(completed.size).toBe(ids.length);
      // Through sharded pub/sub: the api holds one shard channel per slot, spread over the
      // masters, and no pattern subscription (classic pub/sub would broadcast to every node).
      const masters = redis.nodes('master');
      const channels = await Promise.all(masters.map(async (m) => (await m.call('PUBSUB', 'SHARDCHANNELS', `${prefix}:events:*`)) as string[]));
      expect(channels.reduce((sum, list) => sum + list.length, 0)).toBe(16_384);
      expect(channels.every((list) => list.length > 0)).toBe(true);
      const patterns = await Promise.all(masters.map(async (m) => Number(await m.call('PUBSUB', 'NUMPAT'))));
      expect(patterns).toEqual(masters.map(() => 0));
      for (const id of ids) {
        const types = socket.messages.filter((m) => m.executionId === id).map((m) => m.type);
        expect(types).toEqual(expect.arrayContaining(['execution.started', 'node.started', 'node.completed', 'execution.completed']));
      }
    } finally {
      socket.close();
    }
  }, 60_000);

  it('runs a node again elsewhere when its worker is killed mid-call', async () => {
    const call = apiClient(target.baseUrl, target.apiKey);
    const flow = await call('POST', '/v1/flows', {
      name: 'killed',
      nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', stream: false, prompt: 'Killed mid-call {{input.n}}' }],
      edges: [],
    });
    expect(flow.status).toBe(201);
    gate.reset();
    gate.hold();
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { n: 1 } });
    const executionId = start.body.executionId as string;
    const statusKey = executionKeys(prefix, executionId).status;
    const runner = await waitFor(async () => {
      const raw = await redis.hget(statusKey, 'ask');
      const status = raw ? JSON.parse(raw) as { status: string; workerId: string | null } : null;
      return status?.status === 'running' && gate.waiting() === 1 ? status.workerId : null;
    }, { timeoutMs: 30_000, intervalMs: 5, message: 'the node running, its call held at the gate' });
    const victim = stack.workers.find((w) => w.id === runner);
    expect(victim).toBeDefined();
    await victim!.proc.stop('SIGKILL');
    await waitFor(() => gate.requests.some((r) => r.cut), { timeoutMs: 10_000, message: "the dead worker's call closed" });
    gate.open();
    const done = await finished(executionId);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    // Asked once by the killed worker (cut) and again by the one that took the job over.
    expect(gate.requests.length).toBeGreaterThanOrEqual(2);
    expect(target.mock.requests.some((r) => JSON.stringify(r.body).includes('Killed mid-call 1'))).toBe(true);
  }, 90_000);

  it('rebuilds an execution whose hot state is lost mid-run, and it completes', async () => {
    gate.reset();
    const { executionId } = await holdAfterFirstFlushed(target, db, 'shards');
    const keys = Object.values<string>({ ...executionKeys(prefix, executionId) });
    // One slot: one command deletes them all.
    expect(await redis.del(...keys)).toBeGreaterThan(3);
    gate.open();
    await expectRebuiltAndCompleted(target, executionId);
    const sse = await readSse(`${target.baseUrl}/v1/executions/${executionId}/events`, { authorization: `Bearer ${target.apiKey}` });
    expect(sse.frames.map((f) => f.data).find((e) => e.type === 'execution.resumed')?.data).toMatchObject({ recovered: true, kept: 1 });
  }, 90_000);

  it('deletes a workspace: its keys go from every master', async () => {
    const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    const apiKey = await stack.createWorkspace('doomed');
    const call = apiClient(target.baseUrl, apiKey);
    const workspaceId = (await call('GET', '/v1/workspace')).body.id as string;
    const flow = await call('POST', '/v1/flows', { name: 'doomed', nodes: [{ id: 'one', type: 'transform', expression: 'input.n' }], edges: [] });
    const ids: string[] = [];
    for (let n = 0; n < 12; n++) ids.push((await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { n } })).body.executionId as string);
    await waitFor(async () => (await Promise.all(ids.map(async (id) => (await call('GET', `/v1/executions/${id}`)).body.status))).every((s) => s === 'completed'),
      { timeoutMs: 30_000, message: 'the doomed executions completed' });
    const keysOfWorkspace = async (): Promise<string[]> => {
      const found: string[] = [];
      for (const m of redis.nodes('master')) {
        for await (const keys of m.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) {
          found.push(...keys.filter((k) => k.includes(workspaceId) || ids.some((id) => k.includes(id))));
        }
      }
      return found;
    };
    expect((await keysOfWorkspace()).length).toBeGreaterThan(0);
    expect((await apiClient(target.baseUrl)('DELETE', `/v1/workspaces/${workspaceId}`, undefined, admin)).status).toBe(202);
    await waitFor(async () => (await keysOfWorkspace()).length === 0, { timeoutMs: 30_000, message: 'no key of the deleted workspace on any master' });
  }, 90_000);
});
