import { describe, expect, it } from 'vitest';
import type { HotGraphNode, InitExecutionInput } from '../model/index.js';
import { WeftError } from '../errors/weft-error.js';
import {
  applyCommit,
  applyInit,
  applyStart,
  readyChildren,
  skippedResult,
  toHotExecution,
  type ExecutionState,
} from './apply-commit.js';
import type { NodeResult } from '../model/index.js';

const AT = '2025-01-01T00:00:00.000Z';
const LATER = '2025-01-01T00:00:01.000Z';

function graph(nodeIds: string[], edges: Array<[string, string]>): HotGraphNode[] {
  return nodeIds.map((id) => ({
    id,
    parentCount: edges.filter(([, to]) => to === id).length,
    children: edges.filter(([from]) => from === id).map(([, to]) => to),
  }));
}

function initInput(nodes: HotGraphNode[]): InitExecutionInput {
  return { executionId: 'ex1', workspaceId: 'ws1', flowId: 'fl1', flowVersion: 3, input: { topic: 'x' }, nodes, at: AT };
}

function init(nodeIds: string[], edges: Array<[string, string]>): ExecutionState {
  return applyInit(undefined, initInput(graph(nodeIds, edges))).state;
}

function completed(output: unknown = 'ok'): NodeResult {
  return {
    status: 'completed', output, error: null, usage: null, cost: null, attempts: 1, input: null,
    provider: null, model: null, workerId: 'w1', startedAt: AT, finishedAt: LATER, runtimeMs: 5,
  };
}

function failed(): NodeResult {
  return { ...completed(null), status: 'failed', error: { code: 'llm_auth', category: 'permanent', message: 'no' } };
}

/** Commits with every out-edge taken unless `takes` says otherwise. */
function commit(state: ExecutionState, nodeId: string, options: { takes?: string[]; result?: NodeResult; fail?: boolean } = {}) {
  return applyCommit(state, {
    executionId: 'ex1',
    nodeId,
    result: options.result ?? completed(),
    takenChildren: options.takes ?? [...(state.children.get(nodeId) ?? [])],
    failExecution: options.fail ?? false, soft: false,
    at: LATER,
  });
}

function snapshot(state: ExecutionState): unknown {
  return JSON.parse(JSON.stringify(state, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v)));
}

describe('applyInit', () => {
  it('creates running state with roots queued and announces execution.started', () => {
    const { state, outcome } = applyInit(undefined, initInput(graph(['a', 'b', 'c'], [['a', 'c'], ['b', 'c']])));
    expect(outcome).toEqual({
      created: true,
      status: 'running',
      ready: ['a', 'b'],
      events: [{ type: 'execution.started', executionId: 'ex1', flowId: 'fl1', workspaceId: 'ws1', at: AT, data: { flowVersion: 3 } }],
    });
    expect(state.total).toBe(3);
    expect(state.remaining).toBe(3);
    expect(state.statuses.get('a')?.status).toBe('queued');
    expect(state.statuses.get('c')?.status).toBe('pending');
    expect(state.pending.get('c')).toBe(2);
  });

  it('changes nothing on an existing execution and answers the roots not yet terminal', () => {
    const nodes = graph(['a', 'b', 'c'], [['a', 'c'], ['b', 'c']]);
    const first = applyInit(undefined, initInput(nodes)).state;
    const afterA = commit(first, 'a').state;
    const again = applyInit(afterA, initInput(nodes));
    expect(again.state).toBe(afterA);
    expect(again.outcome).toEqual({ created: false, status: 'running', ready: ['b'], events: [] });
  });
});

describe('applyStart', () => {
  it('marks the node running and returns the input and the upstream results that exist', () => {
    const s0 = init(['a', 'b', 'c'], [['a', 'c'], ['b', 'c']]);
    const s1 = commit(s0, 'a', { result: completed('A') }).state;
    const { state, outcome } = applyStart(s1, { executionId: 'ex1', nodeId: 'b', attempt: 2, workerId: 'w9', at: LATER, readResultsOf: ['a', 'b', 'zz'] });
    expect(outcome).toEqual({
      kind: 'started',
      input: { topic: 'x' },
      results: { a: completed('A') },
      events: [{ type: 'node.started', executionId: 'ex1', flowId: 'fl1', workspaceId: 'ws1', nodeId: 'b', at: LATER, data: { attempt: 2, workerId: 'w9' } }],
    });
    expect(state?.statuses.get('b')).toEqual({ status: 'running', attempts: 2, startedAt: LATER, workerId: 'w9' });
    expect(s1.statuses.get('b')?.status).toBe('queued');
  });

  it('answers missing, node-terminal and execution-ended without changing anything', () => {
    const start = { executionId: 'ex1', nodeId: 'a', attempt: 1, workerId: 'w', at: LATER, readResultsOf: [] };
    expect(applyStart(undefined, start).outcome).toEqual({ kind: 'missing' });
    const s0 = init(['a', 'b'], [['a', 'b']]);
    const s1 = commit(s0, 'a').state;
    expect(applyStart(s1, start)).toEqual({ state: s1, outcome: { kind: 'node-terminal' } });
    const failedState = commit(s0, 'a', { result: failed(), takes: [], fail: true }).state;
    expect(applyStart(failedState, { ...start, nodeId: 'b' }).outcome).toEqual({ kind: 'execution-ended', status: 'failed' });
  });

  it('refuses a node outside the graph', () => {
    const s0 = init(['a'], []);
    expect(() => applyStart(s0, { executionId: 'ex1', nodeId: 'nope', attempt: 1, workerId: 'w', at: AT, readResultsOf: [] }))
      .toThrow(WeftError);
  });
});

describe('applyCommit', () => {
  it('walks a chain to completion', () => {
    let s = init(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']]);
    const r1 = commit(s, 'a');
    expect(r1.outcome).toMatchObject({ committed: true, ready: ['b'], skipped: [], executionStatus: 'running', finished: false });
    expect(r1.outcome.events.map((e) => e.type)).toEqual(['node.completed']);
    s = commit(r1.state, 'b').state;
    const r3 = commit(s, 'c');
    expect(r3.outcome).toMatchObject({ committed: true, ready: [], executionStatus: 'completed', finished: true });
    expect(r3.outcome.events.map((e) => e.type)).toEqual(['node.completed', 'execution.completed']);
    expect(r3.outcome.events[1]).toEqual({ type: 'execution.completed', executionId: 'ex1', flowId: 'fl1', workspaceId: 'ws1', at: LATER, data: { status: 'completed' } });
    expect(r3.state.finishedAt).toBe(LATER);
    expect(r3.state.remaining).toBe(0);
  });

  it('makes a diamond fan-in ready only after both parents, once', () => {
    const s0 = init(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]);
    const s1 = commit(s0, 'a');
    expect(s1.outcome.ready).toEqual(['b', 'c']);
    const s2 = commit(s1.state, 'c');
    expect(s2.outcome.ready).toEqual([]);
    expect(s2.state.statuses.get('d')?.status).toBe('pending');
    const s3 = commit(s2.state, 'b');
    expect(s3.outcome.ready).toEqual(['d']);
    expect(s3.state.statuses.get('d')?.status).toBe('queued');
    expect(s3.state.taken.get('d')).toBe(2);
    const s4 = commit(s3.state, 'd');
    expect(s4.outcome.finished).toBe(true);
  });

  it('puts the node.completed payload in the event', () => {
    const s0 = init(['a'], []);
    const result = { ...completed({ x: 1 }), usage: { promptTokens: 1, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, totalTokens: 3 }, pricing: 'unpriced' as const, provider: 'openai', model: 'gpt' };
    const { outcome } = commit(s0, 'a', { result });
    expect(outcome.events[0]).toEqual({
      type: 'node.completed', executionId: 'ex1', flowId: 'fl1', workspaceId: 'ws1', nodeId: 'a', at: LATER,
      data: { output: { x: 1 }, usage: result.usage, cost: null, pricing: 'unpriced', pricedAs: null, attempts: 1, runtimeMs: 5, provider: 'openai', model: 'gpt' },
    });
  });

  it('skips a branch not taken and propagates through a fan-in that still runs', () => {
    // a → b, a → c, b → d, c → d, c → e, e → f; a takes only b.
    const s0 = init(['a', 'b', 'c', 'd', 'e', 'f'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd'], ['c', 'e'], ['e', 'f']]);
    const s1 = commit(s0, 'a', { takes: ['b'] });
    expect(s1.outcome).toMatchObject({ committed: true, ready: ['b'], skipped: ['c', 'e', 'f'], finished: false });
    expect(s1.outcome.events.map((e) => `${e.type}:${e.nodeId ?? ''}`)).toEqual(['node.completed:a', 'node.skipped:c', 'node.skipped:e', 'node.skipped:f']);
    expect(s1.outcome.events[1]?.data).toEqual({});
    expect(s1.state.results.get('c')).toEqual(skippedResult(LATER));
    expect(s1.state.statuses.has('c')).toBe(false);
    expect(s1.state.pending.get('d')).toBe(1);
    expect(s1.state.remaining).toBe(2);
    const s2 = commit(s1.state, 'b');
    expect(s2.outcome.ready).toEqual(['d']);
    expect(s2.state.taken.get('d')).toBe(1);
    const s3 = commit(s2.state, 'd');
    expect(s3.outcome).toMatchObject({ finished: true, executionStatus: 'completed' });
  });

  it('completes the execution in the commit whose skips leave nothing to run', () => {
    const s0 = init(['cond', 'yes', 'no', 'after'], [['cond', 'yes'], ['cond', 'no'], ['yes', 'after']]);
    const { outcome } = commit(s0, 'cond', { takes: [] });
    expect(outcome).toMatchObject({ ready: [], skipped: ['yes', 'no', 'after'], finished: true, executionStatus: 'completed' });
    expect(outcome.events.map((e) => e.type).at(-1)).toBe('execution.completed');
  });

  it('fails the execution when asked, and later commits unblock nothing', () => {
    const s0 = init(['a', 'b', 'c', 'd'], [['a', 'c'], ['b', 'd']]);
    const f = commit(s0, 'a', { result: failed(), takes: [], fail: true });
    expect(f.outcome).toMatchObject({ committed: true, ready: [], skipped: [], executionStatus: 'failed', finished: true });
    expect(f.outcome.events.map((e) => e.type)).toEqual(['node.failed', 'execution.failed']);
    expect(f.outcome.events[0]?.data).toEqual({ error: failed().error, attempts: 1, runtimeMs: 5 });
    expect(f.outcome.events[1]?.data).toEqual({ status: 'failed', error: { ...failed().error, nodeId: 'a' } });
    expect(f.state.finishedAt).toBe(LATER);

    const late = commit(f.state, 'b');
    expect(late.outcome).toMatchObject({ committed: true, ready: [], skipped: [], executionStatus: 'failed', finished: false });
    expect(late.outcome.events.map((e) => e.type)).toEqual(['node.completed']);
    expect(late.state.results.has('b')).toBe(true);
    expect(late.state.statuses.get('d')?.status).toBe('pending');
  });

  it('continues past a failed node that does not fail the execution', () => {
    const s0 = init(['a', 'b'], [['a', 'b']]);
    const { outcome } = commit(s0, 'a', { result: failed(), takes: ['b'] });
    expect(outcome).toMatchObject({ ready: ['b'], executionStatus: 'running' });
    expect(outcome.events.map((e) => e.type)).toEqual(['node.failed']);
  });

  it('answers a redelivered commit with the same ready children and writes nothing', () => {
    const s0 = init(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['a', 'd']]);
    const first = commit(s0, 'a', { takes: ['b', 'c'] });
    const again = commit(first.state, 'a', { result: completed('different') });
    expect(again.state).toBe(first.state);
    expect(again.outcome).toEqual({ committed: false, ready: ['b', 'c'], skipped: [], executionStatus: 'running', finished: false, events: [], settledMaps: [], round: 0 });
    // Once a child is terminal it is no longer announced.
    const afterB = commit(first.state, 'b').state;
    expect(commit(afterB, 'a').outcome.ready).toEqual(['c']);
    expect(readyChildren(afterB, 'a')).toEqual(['c']);
  });

  it('never mutates the state it is given', () => {
    const s0 = init(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]);
    const before = snapshot(s0);
    commit(s0, 'a', { takes: ['b'] });
    commit(s0, 'a', { result: failed(), takes: [], fail: true });
    expect(snapshot(s0)).toEqual(before);
  });

  it('throws EXECUTION_STATE_MISSING without state, and refuses unknown nodes', () => {
    expect(() => applyCommit(undefined, { executionId: 'ex1', nodeId: 'a', result: completed(), takenChildren: [], failExecution: false, soft: false, at: AT }))
      .toThrow(expect.objectContaining({ code: 'EXECUTION_STATE_MISSING' }));
    const s0 = init(['a'], []);
    expect(() => commit(s0, 'zz')).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR', category: 'permanent' }));
  });
});

describe('toHotExecution', () => {
  it('lists every node, terminal ones with their result', () => {
    const s0 = init(['a', 'b', 'c'], [['a', 'b'], ['a', 'c']]);
    const s1 = commit(s0, 'a', { takes: ['b'] }).state;
    expect(toHotExecution(s1)).toEqual({
      executionId: 'ex1', workspaceId: 'ws1', flowId: 'fl1', flowVersion: 3, status: 'running', input: { topic: 'x' },
      startedAt: AT, finishedAt: null,
      nodes: {
        a: { status: 'completed', attempts: 1, startedAt: AT, workerId: 'w1', result: completed() },
        b: { status: 'queued', attempts: 0, startedAt: null, workerId: null, result: null },
        c: { status: 'skipped', attempts: 0, startedAt: null, workerId: null, result: skippedResult(LATER) },
      },
    });
  });
});
