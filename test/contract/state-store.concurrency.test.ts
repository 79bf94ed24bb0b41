/**
 * Fan-in under real concurrency: two stores on separate connections commit the two parents of a
 * join at the same moment; the join must be announced ready exactly once per execution.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStateStore } from '../../shared/src/adapters/redis/redis-state-store.js';
import type { NodeResult } from '../../shared/src/model/index.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { graph } from './state-store.contract.js';

const AT = '2025-01-01T00:00:00.000Z';
const TRIALS = 200;

function result(output: string): NodeResult {
  return {
    status: 'completed', output, error: null, usage: null, cost: null, attempts: 1, input: null,
    provider: null, model: null, workerId: null, startedAt: AT, finishedAt: AT, runtimeMs: 1,
  };
}

describe('RedisStateStore concurrent fan-in', () => {
  let svc: TestServices;
  let connections: Redis[];
  let stores: [RedisStateStore, RedisStateStore];
  beforeAll(async () => {
    svc = await createTestServices();
    connections = [new Redis(svc.redisUrl), new Redis(svc.redisUrl)];
    stores = [
      new RedisStateStore({ redis: connections[0]!, prefix: svc.prefix }),
      new RedisStateStore({ redis: connections[1]!, prefix: svc.prefix }),
    ];
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    for (const connection of connections) await connection.quit();
    await svc.cleanup();
  });

  it(`announces the join ready exactly once in ${TRIALS} racing executions`, async () => {
    const [s1, s2] = stores;
    const nodes = graph(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]);
    const ids = Array.from({ length: TRIALS }, () => randomUUID());
    await Promise.all(ids.map(async (executionId) => {
      await s1.initExecution({ executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: null, nodes, at: AT });
      await s1.commitNode({ executionId, nodeId: 'a', result: result('a'), takenChildren: ['b', 'c'], failExecution: false, soft: false, at: AT });
    }));
    // Both parents of every join at once, each through its own connection.
    const outcomes = await Promise.all(ids.map(async (executionId) => {
      const commit = (store: RedisStateStore, nodeId: string) =>
        store.commitNode({ executionId, nodeId, result: result(nodeId), takenChildren: ['d'], failExecution: false, soft: false, at: AT });
      const [rb, rc] = await Promise.all([commit(s1, 'b'), commit(s2, 'c')]);
      return { executionId, readyCount: [...rb.ready, ...rc.ready].filter((n) => n === 'd').length, committed: rb.committed && rc.committed };
    }));
    expect(outcomes.filter((o) => o.readyCount !== 1)).toEqual([]);
    expect(outcomes.every((o) => o.committed)).toBe(true);

    // And the join runs to completion exactly once too.
    const finals = await Promise.all(ids.map(async (executionId) => {
      const [r1, r2] = await Promise.all([s1, s2].map((store) =>
        store.commitNode({ executionId, nodeId: 'd', result: result('d'), takenChildren: [], failExecution: false, soft: false, at: AT })));
      return [r1!, r2!].filter((r) => r.finished).length;
    }));
    expect(finals.every((n) => n === 1)).toBe(true);
    const hot = await s2.getExecution(ids[0]!);
    expect(hot?.status).toBe('completed');
  });
});
