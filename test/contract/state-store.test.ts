import { describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../shared/src/adapters/memory/memory-event-bus.js';
import { MemoryStateStore } from '../../shared/src/adapters/memory/memory-state-store.js';
import { executionKeys, flushStreamKey, shardOf } from '../../shared/src/adapters/redis/keys.js';
import type { NodeResult } from '../../shared/src/model/index.js';
import { RedisEventBus } from '../../shared/src/adapters/redis/redis-event-bus.js';
import { RedisSpendLedger } from '../../shared/src/adapters/redis/redis-spend-ledger.js';
import { RedisStateStore } from '../../shared/src/adapters/redis/redis-state-store.js';
import { redisForSuite, uniqueId } from '../helpers/services.js';
import { graph, stateStoreContract } from './state-store.contract.js';
import { stateStoreEagerContract } from './state-store.eager.contract.js';
import { stateStoreMapContract } from './state-store.map.contract.js';
import { stateStoreRecoveryContract } from './state-store.recovery.contract.js';

function memoryFixture() {
  const events = new MemoryEventBus();
  const store = new MemoryStateStore({ events });
  return Promise.resolve({
    store,
    events,
    async cleanup() {
      await store.close();
      await events.close();
    },
  });
}

stateStoreContract('memory', memoryFixture);
stateStoreMapContract('memory', memoryFixture);
stateStoreRecoveryContract('memory', memoryFixture);
stateStoreEagerContract('memory', memoryFixture);

describe('redis', () => {
  const suite = redisForSuite();

  // A prefix per test: tests must not share one.
  function redisFixture() {
    const prefix = `${suite.svc.prefix}:${uniqueId()}`;
    const store = new RedisStateStore({ redis: suite.redis, prefix });
    const events = new RedisEventBus({ redis: suite.redis, prefix });
    return Promise.resolve({
      store,
      events,
      async cleanup() {
        await store.close();
        await events.close();
      },
    });
  }
  stateStoreContract('redis', redisFixture);
  stateStoreMapContract('redis', redisFixture);
  stateStoreRecoveryContract('redis', redisFixture);
  stateStoreEagerContract('redis', redisFixture);

  describe('RedisStateStore specifics', () => {
    it('clears the TTL when a failed node is re-opened', async () => {
      const prefix = `${suite.svc.prefix}:${uniqueId()}`;
      const store = new RedisStateStore({ redis: suite.redis, prefix });
      const executionId = uniqueId(16);
      await store.initExecution({ executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: null, nodes: graph(['a'], []), at: '2025-01-01T00:00:00.000Z' });
      await store.commitNode({
        executionId, nodeId: 'a', takenChildren: [], failExecution: true, soft: false, at: '2025-01-01T00:00:01.000Z',
        result: { status: 'failed', output: null, error: { code: 'internal_error', category: 'transient', message: 'x' }, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: null, startedAt: null, finishedAt: '2025-01-01T00:00:01.000Z', runtimeMs: 1 },
      });
      await store.expireExecution(executionId, 60);
      expect(await suite.redis.ttl(executionKeys(prefix, executionId).meta)).toBeGreaterThan(0);
      expect((await store.reopenNodes({ executionId, nodeIds: ['a'], at: '2025-01-01T00:00:02.000Z' })).kind).toBe('reopened');
      expect(await suite.redis.ttl(executionKeys(prefix, executionId).meta)).toBe(-1);
    });

    it('gives every key of the execution the TTL', async () => {
      const prefix = `${suite.svc.prefix}:${uniqueId()}`;
      const store = new RedisStateStore({ redis: suite.redis, prefix });
      const executionId = uniqueId(16);
      await store.initExecution({
        executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: null,
        nodes: graph(['a', 'b'], [['a', 'b']]), at: '2025-01-01T00:00:00.000Z',
      });
      // b starts by eager dispatch: the leases hash exists too.
      await store.commitNode({
        executionId, nodeId: 'a', takenChildren: ['b'], failExecution: false, soft: false, at: '2025-01-01T00:00:01.000Z',
        result: { status: 'completed', output: 1, error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: null, startedAt: null, finishedAt: '2025-01-01T00:00:01.000Z', runtimeMs: 1 },
        eager: { candidates: [{ nodeId: 'b', readResultsOf: ['a'] }], leaseJobId: 'job-a', workerId: 'w' },
      });
      const usage = { promptTokens: 1, completionTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: 2 };
      await new RedisSpendLedger({ redis: suite.redis, prefix }).record({ executionId, nodeId: 'b', spend: { usage, cost: null } });
      await store.putBlob({ executionId, blobId: 'blob', text: '"offloaded"' });
      await store.cancelExecution({ executionId, at: '2025-01-01T00:00:02.000Z' });
      expect(await store.expireExecution(executionId, 60)).toBe(true);
      // The map hashes exist only for executions with a map node; the ended mark only for one ended without hot state.
      const { maps: _maps, items: _items, slots: _slots, ended: _ended, ...plain } = executionKeys(prefix, executionId);
      const keys = Object.values(plain);
      for (const key of keys) {
        expect(await suite.redis.exists(key), key).toBe(1);
        const ttl = await suite.redis.ttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(60);
      }
      await store.close();
    });

    it('a map execution re-opened after its TTL was set keeps every key, the map hashes too', async () => {
      const prefix = `${suite.svc.prefix}:${uniqueId()}`;
      const store = new RedisStateStore({ redis: suite.redis, prefix });
      const executionId = uniqueId(16);
      const at = '2025-01-01T00:00:00.000Z';
      await store.initExecution({ executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: null, nodes: graph(['m'], []), at });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w', at, readResultsOf: [] });
      await store.startMap({
        executionId, nodeId: 'm', items: [1], concurrency: 1, onItemError: 'fail', failExecution: true, output: 'x',
        nodes: [{ id: 'x', parentCount: 0, children: [] }], at,
      });
      await store.commitNode({
        executionId, nodeId: 'm[0].x', takenChildren: [], failExecution: false, soft: false, at,
        result: { status: 'completed', output: 7, error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: null, startedAt: null, finishedAt: at, runtimeMs: 1 },
      });
      const k = executionKeys(prefix, executionId);
      await store.putBlob({ executionId, blobId: 'blob', text: '"offloaded"' });
      expect(await store.expireExecution(executionId, 60)).toBe(true);
      for (const key of [k.maps, k.items, k.slots, k.blobs]) expect(await suite.redis.ttl(key), key).toBeGreaterThan(0);
      await store.cancelExecution({ executionId, at });
      expect((await store.reopenNodes({ executionId, nodeIds: [], at })).kind).toBe('reopened');
      for (const key of [k.meta, k.maps, k.items, k.slots, k.blobs]) expect(await suite.redis.ttl(key), key).toBe(-1);
      // Running again: a late expire leaves it alone.
      expect(await store.expireExecution(executionId, 60)).toBe(false);
      expect(await suite.redis.ttl(k.meta)).toBe(-1);
      await store.close();
    });

    it('with a flush stream, a commit appends its node\'s flush entry in its own step, a redelivered one nothing', async () => {
      const prefix = `${suite.svc.prefix}:${uniqueId()}`;
      const flushStream = flushStreamKey(prefix);
      const store = new RedisStateStore({ redis: suite.redis, prefix, flushStream });
      const executionId = uniqueId(16);
      const at = '2025-01-01T00:00:01.000Z';
      await store.initExecution({ executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: null, nodes: graph(['a', 'b'], [['a', 'b']]), at });
      const result: NodeResult = {
        status: 'completed', output: { n: 1 }, error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null,
        workerId: 'w', startedAt: at, finishedAt: at, runtimeMs: 1,
      };
      const input = { executionId, nodeId: 'a', takenChildren: ['b'], failExecution: false, soft: false, at, result, flush: { workspaceId: 'ws', flowId: 'f', nodeType: 'transform' } };
      expect((await store.commitNode(input)).flushed).toBe(true);
      const again = await store.commitNode(input);
      expect(again.committed).toBe(false);
      expect(again.flushed).toBeUndefined();
      const entries = await suite.redis.xrange(flushStream, '-', '+');
      expect(entries.map(([, fields]) => JSON.parse(fields[1] ?? 'null') as unknown)).toEqual([
        { kind: 'node', executionId, nodeId: 'a', workspaceId: 'ws', flowId: 'f', nodeType: 'transform', result },
      ]);
      // Without one (Redis Cluster), the engine appends the entry itself.
      const plain = new RedisStateStore({ redis: suite.redis, prefix });
      expect((await plain.commitNode({ ...input, nodeId: 'b', takenChildren: [] })).flushed).toBeUndefined();
      expect(await suite.redis.xlen(flushStream)).toBe(1);
      // A commit that ends its execution appends the end too, after its node's entry.
      const single = uniqueId(16);
      await store.initExecution({ executionId: single, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: null, nodes: graph(['a'], []), at });
      const ended = await store.commitNode({ ...input, executionId: single, takenChildren: [] });
      expect([ended.finished, ended.flushed]).toEqual([true, true]);
      const tail = await suite.redis.xrange(flushStream, '-', '+');
      expect(tail.slice(1).map(([, fields]) => JSON.parse(fields[1] ?? 'null') as unknown)).toEqual([
        { kind: 'node', executionId: single, nodeId: 'a', workspaceId: 'ws', flowId: 'f', nodeType: 'transform', result },
        { kind: 'execution', executionId: single },
      ]);
      await store.close();
    });

    it('with a flush stream per queue shard, a commit appends to its execution\'s shard', async () => {
      const prefix = `${suite.svc.prefix}:${uniqueId()}`;
      const streamOf = (id: string): string => flushStreamKey(prefix, shardOf(id, 4), 4);
      const store = new RedisStateStore({ redis: suite.redis, prefix, flushStream: streamOf });
      const at = '2025-01-01T00:00:01.000Z';
      const result: NodeResult = {
        status: 'completed', output: null, error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null,
        workerId: 'w', startedAt: at, finishedAt: at, runtimeMs: 1,
      };
      const executionIds = Array.from({ length: 8 }, () => uniqueId(16));
      for (const executionId of executionIds) {
        await store.initExecution({ executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: null, nodes: graph(['a'], []), at });
        const commit = await store.commitNode({ executionId, nodeId: 'a', takenChildren: [], failExecution: false, soft: false, at, result, flush: { workspaceId: 'ws', flowId: 'f', nodeType: 'transform' } });
        expect(commit.flushed).toBe(true);
      }
      for (let shard = 0; shard < 4; shard++) {
        const entries = await suite.redis.xrange(flushStreamKey(prefix, shard, 4), '-', '+');
        const parsed = entries.map(([, fields]) => JSON.parse(fields[1] ?? 'null') as { kind: string; executionId: string });
        const mine = executionIds.filter((id) => shardOf(id, 4) === shard).sort();
        // Each execution's node entry, then (its one node ended it) its end.
        expect(parsed.filter((e) => e.kind === 'node').map((e) => e.executionId).sort()).toEqual(mine);
        expect(parsed.filter((e) => e.kind === 'execution').map((e) => e.executionId).sort()).toEqual(mine);
      }
      await store.close();
    });
  });
});
