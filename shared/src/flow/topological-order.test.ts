import { describe, expect, it } from 'vitest';
import { WeftError } from '../errors/weft-error.js';
import { buildFlowGraph } from './flow-graph.js';
import { findCycle, topologicalOrder } from './topological-order.js';

const nodes = (...ids: string[]): { id: string }[] => ids.map((id) => ({ id }));
const edges = (...pairs: string[]): { from: string; to: string }[] =>
  pairs.map((pair) => {
    const [from = '', to = ''] = pair.split('>');
    return { from, to };
  });

describe('topologicalOrder', () => {
  it('orders a chain', () => {
    expect(topologicalOrder({ nodes: nodes('c', 'b', 'a'), edges: edges('a>b', 'b>c') })).toEqual(['a', 'b', 'c']);
  });

  it('breaks ties by declaration order', () => {
    expect(topologicalOrder({ nodes: nodes('a', 'c', 'b', 'd'), edges: edges('a>b', 'a>c', 'b>d', 'c>d') })).toEqual(['a', 'c', 'b', 'd']);
  });

  it('prefers an earlier declared node that becomes ready later', () => {
    // x is declared first but waits for r2; r1's child y is ready before x.
    expect(topologicalOrder({ nodes: nodes('x', 'r1', 'r2', 'y'), edges: edges('r2>x', 'r1>y') })).toEqual(['r1', 'r2', 'x', 'y']);
  });

  it('lists unconnected nodes in declaration order', () => {
    expect(topologicalOrder({ nodes: nodes('q', 'p', 'o'), edges: [] })).toEqual(['q', 'p', 'o']);
  });

  it('throws FLOW_CYCLE naming the cycle', () => {
    let caught: unknown;
    try {
      topologicalOrder({ nodes: nodes('s', 'a', 'b', 'c'), edges: edges('s>a', 'a>b', 'b>c', 'c>a') });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WeftError);
    expect((caught as WeftError).code).toBe('FLOW_CYCLE');
    expect((caught as WeftError).message).toBe('cycle: a → b → c → a');
  });
});

describe('findCycle', () => {
  it('returns null for a DAG', () => {
    expect(findCycle(buildFlowGraph({ nodes: nodes('a', 'b', 'c', 'd'), edges: edges('a>b', 'a>c', 'b>d', 'c>d') }))).toBeNull();
  });

  it('returns the cycle as a closed path, without the lead-in', () => {
    expect(findCycle(buildFlowGraph({ nodes: nodes('s', 'a', 'b', 'c', 'd'), edges: edges('s>a', 'a>b', 'b>c', 'c>a', 'c>d') }))).toEqual(['a', 'b', 'c', 'a']);
  });

  it('finds a self loop', () => {
    expect(findCycle(buildFlowGraph({ nodes: nodes('a', 'b'), edges: edges('a>b', 'b>b') }))).toEqual(['b', 'b']);
  });

  it('finds a cycle reachable only from a later root', () => {
    expect(findCycle(buildFlowGraph({ nodes: nodes('a', 'x', 'y'), edges: edges('x>y', 'y>x') }))).toEqual(['x', 'y', 'x']);
  });

  it('is deterministic with several cycles', () => {
    const flow = { nodes: nodes('a', 'b', 'c', 'd'), edges: edges('c>d', 'd>c', 'a>b', 'b>a') };
    expect(findCycle(buildFlowGraph(flow))).toEqual(['a', 'b', 'a']);
  });
});
