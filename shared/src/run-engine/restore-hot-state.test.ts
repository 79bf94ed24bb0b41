/**
 * How a recorded result is committed again when hot state is rebuilt: the edges a branch took
 * follow from its output, a soft failure takes what it took the first time, a hard one ends
 * the execution.
 */
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../ports/database.js';
import { rebuildExecution, skippedResult } from '../engine/index.js';
import { type NodeResult, type StoredErrorCode } from '../model/index.js';
import { topologicalOrder, type FlowDefinition } from '../flow/index.js';
import { compileFlow, type CompiledFlow } from './flow-cache.js';
import { commitOf } from './restore-hot-state.js';

const AT = '2025-01-01T00:00:00.000Z';

function compile(flow: Omit<FlowDefinition, 'name'>): CompiledFlow {
  const record: FlowRecord = { ...flow, name: 'f', id: 'flow', workspaceId: 'ws', version: 1, createdAt: new Date(0), updatedAt: new Date(0) };
  return compileFlow(record);
}

const completed = (output: unknown): NodeResult => ({ ...skippedResult(AT), status: 'completed', output, attempts: 1 });
const failed = (code: StoredErrorCode): NodeResult => ({ ...skippedResult(AT), status: 'failed', error: { code, category: 'permanent', message: code }, attempts: 1 });

const flow = compile({
  nodes: [
    { id: 'check', type: 'condition', expression: 'input.ok' },
    { id: 'yes', type: 'transform', expression: '1' },
    { id: 'no', type: 'transform', expression: '0' },
    { id: 'pick', type: 'switch', expression: 'input.kind' },
    { id: 'a', type: 'transform', expression: '"a"' },
    { id: 'other', type: 'transform', expression: '"other"' },
    { id: 'soft', type: 'transform', expression: 'x', onError: 'continue' },
    { id: 'after', type: 'transform', expression: 'nodes' },
  ],
  edges: [
    { from: 'check', to: 'yes', when: true }, { from: 'check', to: 'no', when: false },
    { from: 'pick', to: 'a', when: 'a' }, { from: 'pick', to: 'other', default: true },
    { from: 'soft', to: 'after' },
  ],
});

describe('commitOf (hot state rebuilt from node_runs)', () => {
  it('takes the branch a condition or switch output chose', () => {
    expect(commitOf(flow, 'check', completed(true))).toEqual({ takenChildren: ['yes'], failExecution: false, soft: false });
    expect(commitOf(flow, 'check', completed(false))).toEqual({ takenChildren: ['no'], failExecution: false, soft: false });
    expect(commitOf(flow, 'pick', completed('a'))).toEqual({ takenChildren: ['a'], failExecution: false, soft: false });
    expect(commitOf(flow, 'pick', completed('zzz'))).toEqual({ takenChildren: ['other'], failExecution: false, soft: false });
  });

  it('a soft failure takes its edges (a branch none), a hard one or a passed budget ends the execution', () => {
    expect(commitOf(flow, 'soft', failed('transform_failed'))).toEqual({ takenChildren: ['after'], failExecution: false, soft: true });
    expect(commitOf(flow, 'soft', failed('budget_exceeded'))).toEqual({ takenChildren: [], failExecution: true, soft: false });
    expect(commitOf(flow, 'check', failed('transform_failed'))).toEqual({ takenChildren: [], failExecution: true, soft: false });
  });

  it('rebuilds a branched execution as it was: the side not taken skipped, the rest ready', () => {
    const state = rebuildExecution({
      init: { executionId: 'e', workspaceId: 'ws', flowId: 'flow', flowVersion: 1, input: { ok: true }, nodes: flow.hotNodes, at: AT },
      order: topologicalOrder(flow.record),
      results: new Map([['check', completed(true)], ['pick', completed('a')]]),
      commitOf: (nodeId, result) => commitOf(flow, nodeId, result),
    });
    expect(state.status).toBe('running');
    expect(state.results.get('no')?.status).toBe('skipped');
    expect(state.results.get('other')?.status).toBe('skipped');
    expect([...state.statuses].filter(([, e]) => e.status === 'queued').map(([id]) => id).sort()).toEqual(['a', 'soft', 'yes']);
  });
});
