/**
 * The Lua scripts are a port of engine/apply-commit.ts. Drive the memory store (which runs the
 * TypeScript) and the Redis store through the same random executions — random DAGs, random taken
 * edges, redeliveries, failures, late commits — and require identical answers and state.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../shared/src/adapters/memory/memory-event-bus.js';
import { MemoryStateStore } from '../../shared/src/adapters/memory/memory-state-store.js';
import { RedisEventBus } from '../../shared/src/adapters/redis/redis-event-bus.js';
import { RedisStateStore } from '../../shared/src/adapters/redis/redis-state-store.js';
import type { NodeResult, WeftEvent } from '../../shared/src/engine/types.js';
import type { EventBus } from '../../shared/src/ports/event-bus.js';
import type { HotGraphNode, StateStore } from '../../shared/src/ports/state-store.js';
import { createTestServices, type TestServices } from '../helpers/services.js';

const AT = '2025-01-01T00:00:00.000Z';
const EXECUTIONS = 60;

/** Small seeded PRNG (mulberry32) so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomGraph(random: () => number): HotGraphNode[] {
  const n = 3 + Math.floor(random() * 10);
  const ids = Array.from({ length: n }, (_, i) => `n${i}`);
  const edges: Array<[string, string]> = [];
  for (let j = 1; j < n; j += 1) {
    for (let i = 0; i < j; i += 1) if (random() < 0.3) edges.push([ids[i]!, ids[j]!]);
  }
  return ids.map((id) => ({
    id,
    parentCount: edges.filter(([, to]) => to === id).length,
    children: edges.filter(([from]) => from === id).map(([, to]) => to),
  }));
}

function result(nodeId: string, status: 'completed' | 'failed'): NodeResult {
  return {
    status, output: status === 'completed' ? { from: nodeId, n: 1.25 } : null,
    error: status === 'failed' ? { code: 'LLM_SERVER_ERROR', category: 'transient', message: `boom ${nodeId}` } : null,
    usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: 'w', startedAt: AT, finishedAt: AT, runtimeMs: 3,
  };
}

const withoutIds = (events: readonly WeftEvent[]) => events.map(({ id: _id, executionId: _ex, ...rest }) => rest);

describe('Lua scripts match apply-commit.ts', () => {
  let svc: TestServices;
  let redis: Redis;
  let sides: Array<{ store: StateStore; events: EventBus }>;
  beforeAll(async () => {
    svc = await createTestServices();
    redis = new Redis(svc.redisUrl);
    const memoryEvents = new MemoryEventBus();
    sides = [
      { store: new MemoryStateStore({ events: memoryEvents }), events: memoryEvents },
      { store: new RedisStateStore({ redis, prefix: svc.prefix }), events: new RedisEventBus({ redis, prefix: svc.prefix }) },
    ];
  });
  afterAll(async () => {
    for (const side of sides) {
      await side.store.close();
      await side.events.close();
    }
    await redis.quit();
    await svc.cleanup();
  });

  it(`agrees on ${EXECUTIONS} random executions`, async () => {
    // The random runs must have exercised each path the scripts have.
    const seen = { skipped: 0, failedExecutions: 0, completedExecutions: 0, redelivered: 0, lateCommits: 0 };
    for (let seed = 1; seed <= EXECUTIONS; seed += 1) {
      const random = rng(seed);
      const nodes = randomGraph(random);
      const children = new Map(nodes.map((n) => [n.id, n.children]));
      const ids = sides.map(() => randomUUID());
      const both = async <T>(call: (store: StateStore, executionId: string) => Promise<T>): Promise<T> => {
        const [mem, red] = await Promise.all(sides.map((side, i) => call(side.store, ids[i]!)));
        const strip = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'id' || k === 'executionId' ? undefined : x)));
        expect(strip(red), `seed ${seed}`).toEqual(strip(mem));
        return mem!;
      };

      const init = await both((store, executionId) =>
        store.initExecution({ executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: { seed }, nodes, at: AT }));
      const queue = [...init.ready];
      const done: string[] = [];
      while (queue.length > 0) {
        const nodeId = queue.splice(Math.floor(random() * queue.length), 1)[0]!;
        const fail = random() < 0.08;
        const status = fail || random() < 0.1 ? 'failed' : 'completed';
        const takes = (children.get(nodeId) ?? []).filter(() => random() < 0.7);
        await both((store, executionId) =>
          store.startNode({ executionId, nodeId, attempt: 1, workerId: 'w', at: AT, readResultsOf: done.slice(-3) }));
        const outcome = await both((store, executionId) =>
          store.commitNode({ executionId, nodeId, result: result(nodeId, status), takenChildren: takes, failExecution: fail, at: AT }));
        done.push(nodeId);
        queue.push(...outcome.ready);
        seen.skipped += outcome.skipped.length;
        if (outcome.finished) seen[outcome.executionStatus === 'failed' ? 'failedExecutions' : 'completedExecutions'] += 1;
        if (outcome.committed && !outcome.finished && outcome.executionStatus === 'failed') seen.lateCommits += 1;
        if (random() < 0.2 && done.length > 0) {
          const again = done[Math.floor(random() * done.length)]!;
          const redelivered = await both((store, executionId) =>
            store.commitNode({ executionId, nodeId: again, result: result(again, 'completed'), takenChildren: [], failExecution: false, at: AT }));
          if (!redelivered.committed) seen.redelivered += 1;
        }
      }
      await both((store, executionId) => store.getExecution(executionId));
      const [memEvents, redisEvents] = await Promise.all(sides.map((side, i) => side.events.replay(ids[i]!)));
      expect(withoutIds(redisEvents!), `seed ${seed}`).toEqual(withoutIds(memEvents!));
    }
    for (const [path, count] of Object.entries(seen)) expect(count, path).toBeGreaterThan(0);
  });
});
