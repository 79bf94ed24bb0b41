/**
 * The StateStore conformance suite for recovery: hot state rebuilt from recorded results
 * (engine/rebuild.ts) is written only where none exists, and runs on like the original.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { rebuildExecution } from '../../shared/src/engine/rebuild.js';
import type { NodeResult } from '../../shared/src/model/index.js';
import type { StateStore } from '../../shared/src/ports/state-store.js';
import { completed, graph, storePerTest, type StateStoreFixture } from './state-store.contract.js';

const AT = '2025-01-01T00:00:00.000Z';
const LATER = '2025-01-01T00:00:01.000Z';

/** a → (b, c) → d; c is a branch b's condition `a` did not take. */
function rebuilt(executionId: string, results: Record<string, NodeResult>) {
  return rebuildExecution({
    init: {
      executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 3, input: { topic: 'recovery' }, at: AT,
      nodes: graph(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]),
    },
    order: ['a', 'b', 'c', 'd'],
    results: new Map(Object.entries(results)),
    commitOf: (nodeId, result) => ({
      takenChildren: nodeId === 'a' ? ['b'] : nodeId === 'b' || nodeId === 'c' ? ['d'] : [],
      failExecution: result.status === 'failed',
      soft: false,
    }),
  });
}

export function stateStoreRecoveryContract(name: string, makeStore: () => Promise<StateStoreFixture>): void {
  describe(`StateStore recovery contract: ${name}`, () => {
    const current = storePerTest(makeStore);
    let store: StateStore;
    beforeEach(() => {
      store = current().store;
    });

    it('writes rebuilt hot state only where none exists, and the execution runs on from it', async () => {
      const executionId = randomUUID();
      const other = randomUUID();
      expect(await store.existingExecutions([executionId, other])).toEqual(new Set());
      expect(await store.restoreExecution(rebuilt(executionId, { a: completed('a-out') }))).toBe(true);
      expect(await store.existingExecutions([executionId, other])).toEqual(new Set([executionId]));
      // A second rebuild (another worker's sweep) leaves the first alone.
      expect(await store.restoreExecution(rebuilt(executionId, {}))).toBe(false);

      const hot = await store.getExecution(executionId);
      expect(hot).toMatchObject({ workspaceId: 'ws1', flowId: 'fl1', flowVersion: 3, status: 'running', input: { topic: 'recovery' }, startedAt: AT, finishedAt: null });
      expect(hot?.nodes['a']?.result?.output).toBe('a-out');
      expect(hot?.nodes['b']?.status).toBe('queued');
      expect(hot?.nodes['c']?.result?.status).toBe('skipped');
      expect(hot?.nodes['d']?.status).toBe('pending');

      const started = await store.startNode({ executionId, nodeId: 'b', attempt: 1, workerId: 'w', at: LATER, readResultsOf: ['a'] });
      expect(started).toMatchObject({ kind: 'started', input: { topic: 'recovery' }, results: { a: { output: 'a-out' } } });
      const b = await store.commitNode({ executionId, nodeId: 'b', result: completed('b-out'), takenChildren: ['d'], failExecution: false, soft: false, at: LATER });
      expect(b.ready).toEqual(['d']);
      const d = await store.commitNode({ executionId, nodeId: 'd', result: completed('d-out'), takenChildren: [], failExecution: false, soft: false, at: LATER });
      expect(d).toMatchObject({ finished: true, executionStatus: 'completed' });
    });

    it('keeps the end a rebuild reaches: a recorded failure fails the execution again', async () => {
      const executionId = randomUUID();
      const failed: NodeResult = { ...completed(null), status: 'failed', error: { code: 'llm_auth', category: 'permanent', message: 'bad key' } };
      expect(await store.restoreExecution(rebuilt(executionId, { a: completed(), b: failed }))).toBe(true);
      const hot = await store.getExecution(executionId);
      expect(hot).toMatchObject({ status: 'failed', finishedAt: LATER });
      expect(hot?.nodes['b']?.result?.error?.code).toBe('llm_auth');
    });
  });
}
