/**
 * How a child started by a commit is dated: a join's last parent may be committed by one worker
 * after another worker committed its other parent, between the moment the first took its commit
 * time and the moment its commit was applied. The child's run must never start before a parent
 * finished.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventBus, MemoryFlushLog, MemoryJobQueue, MemoryStateStore } from '../adapters/memory/index.js';
import { commitIntent, outcomeOf, skippedResult } from '../engine/index.js';
import type { NodeJobData } from '../jobs/index.js';
import { createLogger } from '../logging/index.js';
import { createMetrics } from '../metrics/index.js';
import type { NodeResult } from '../model/index.js';
import type { StateStore } from '../ports/index.js';
import { commitAndContinue, type CommitDeps } from './commit.js';
import { compileFlow, resolveNode } from './flow-cache.js';

const flow = compileFlow({
  id: 'flow', workspaceId: 'ws', name: 'diamond', version: 1, createdAt: new Date(0), updatedAt: new Date(0),
  nodes: [
    { id: 'b', type: 'transform', expression: '1' },
    { id: 'c', type: 'transform', expression: '2' },
    { id: 'd', type: 'transform', expression: 'nodes' },
  ],
  edges: [{ from: 'b', to: 'd' }, { from: 'c', to: 'd' }],
});

const at = (ms: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString();
const completedAt = (ms: number): NodeResult => ({ ...skippedResult(at(ms - 10)), status: 'completed', output: ms, attempts: 1, startedAt: at(ms - 10), finishedAt: at(ms) });

describe('commitAndContinue: the start time of a child a commit started', () => {
  it('is never before the end of a parent another worker committed while this commit was on its way', async () => {
    const store = new MemoryStateStore({ events: new MemoryEventBus() });
    const executionId = 'e1';
    await store.initExecution({
      executionId, workspaceId: 'ws', flowId: 'flow', flowVersion: 1, input: null, at: at(0),
      nodes: [{ id: 'b', parentCount: 0, children: ['d'] }, { id: 'c', parentCount: 0, children: ['d'] }, { id: 'd', parentCount: 2, children: [] }],
    });
    for (const id of ['b', 'c']) await store.startNode({ executionId, nodeId: id, attempt: 1, workerId: 'w', at: at(1), readResultsOf: [] });

    // One clock for both workers: b's worker takes its commit time at 100; c, which finished at
    // 101, is committed by the other worker before b's commit reaches the store.
    let now = 100;
    const data: NodeJobData = { executionId, workspaceId: 'ws', flowId: 'flow', flowVersion: 1, nodeId: '' };
    const deps = (state: StateStore): CommitDeps => ({
      state, flushLog: new MemoryFlushLog(), queue: new MemoryJobQueue(), metrics: createMetrics(), clock: () => new Date(Date.parse(at(now))),
    });
    const commit = (state: StateStore, nodeId: string, result: NodeResult, eager: boolean) => {
      const resolved = resolveNode(flow, nodeId)!;
      return commitAndContinue(deps(state), {
        data: { ...data, nodeId }, node: resolved.node, flow, result, failure: null, attempt: 1, jobId: `${executionId}.${nodeId}`, runtimeMs: 10,
        log: createLogger({ level: 'silent', name: 'commit-test' }),
        intent: commitIntent({ node: resolved.node, outcome: outcomeOf('completed'), failure: null, children: resolved.children, mapItem: false }),
        ...(eager ? { eager: { candidates: [{ nodeId: 'd', readResultsOf: ['b', 'c'] }], leaseJobId: `${executionId}.${nodeId}`, workerId: 'w' } } : {}),
      });
    };
    const overtaken: StateStore = Object.create(store) as StateStore;
    overtaken.commitNodes = async (inputs) => {
      now = 102;
      await commit(store, 'c', completedAt(101), false);
      now = 103;
      return store.commitNodes(inputs);
    };
    const [started] = await commit(overtaken, 'b', completedAt(99), true);
    expect(started?.nodeId).toBe('d');
    expect(Date.parse(started!.startedAt)).toBeGreaterThanOrEqual(Date.parse(at(101)));
  });
});
