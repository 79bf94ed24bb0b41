import { describe, expect, it } from 'vitest';
import { applyCommit, applyInit, applyStart } from './apply-commit.js';
import { applyStartMap } from './apply-map.js';
import { skippedResult } from './hot-state.js';
import type { NodeResult } from '../model/index.js';

const AT = '2025-01-01T00:00:00.000Z';
const done = (output: unknown): NodeResult => ({ ...skippedResult(AT), status: 'completed', output, attempts: 1 });

describe('map transitions are pure', () => {
  it('releasing an item grows the next state\'s graph, never the one it started from', () => {
    let state = applyInit(undefined, {
      executionId: 'e', workspaceId: 'w', flowId: 'f', flowVersion: 1, input: null, at: AT,
      nodes: [{ id: 'm', parentCount: 0, children: [] }],
    }).state;
    state = applyStart(state, { executionId: 'e', nodeId: 'm', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [] }).state ?? state;
    const expanded = applyStartMap(state, {
      executionId: 'e', nodeId: 'm', items: ['x', 'y'], concurrency: 1, onItemError: 'fail', failExecution: true, output: 'a',
      nodes: [{ id: 'a', parentCount: 0, children: [] }], at: AT,
    });
    const before = expanded.state;
    if (!before) throw new Error('no state');
    expect([...state.children.keys()]).toEqual(['m']);
    expect(state.items.size).toBe(0);
    expect([...before.children.keys()].sort()).toEqual(['m', 'm[0].a']);

    const after = applyCommit(before, { executionId: 'e', nodeId: 'm[0].a', result: done('x!'), takenChildren: [], failExecution: false, soft: false, at: AT });
    expect(after.outcome.ready).toEqual(['m[1].a']);
    expect([...after.state.children.keys()].sort()).toEqual(['m', 'm[0].a', 'm[1].a']);
    expect([...before.children.keys()].sort()).toEqual(['m', 'm[0].a']);
    expect(before.maps.get('m')?.items).toBe('r.');
    expect(after.state.maps.get('m')?.items).toBe('cr');
  });
});
