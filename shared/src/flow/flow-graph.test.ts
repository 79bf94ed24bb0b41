import { describe, expect, it } from 'vitest';
import { ancestorsOf, buildFlowGraph } from './flow-graph.js';

const nodes = (...ids: string[]): { id: string }[] => ids.map((id) => ({ id }));
const diamond = {
  nodes: nodes('a', 'b', 'c', 'd'),
  edges: [
    { from: 'a', to: 'b' },
    { from: 'a', to: 'c' },
    { from: 'b', to: 'd' },
    { from: 'c', to: 'd' },
  ],
};

describe('buildFlowGraph', () => {
  it('builds parents, children, roots and leaves of a diamond', () => {
    const graph = buildFlowGraph(diamond);
    expect(Object.fromEntries(graph.parents)).toEqual({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });
    expect(Object.fromEntries(graph.children)).toEqual({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [] });
    expect(graph.roots).toEqual(['a']);
    expect(graph.leaves).toEqual(['d']);
  });

  it('keeps declaration order for roots and leaves and edge order for neighbours', () => {
    const graph = buildFlowGraph({ nodes: nodes('z', 'x', 'y', 'solo'), edges: [{ from: 'x', to: 'y' }, { from: 'z', to: 'y' }] });
    expect(graph.roots).toEqual(['z', 'x', 'solo']);
    expect(graph.leaves).toEqual(['y', 'solo']);
    expect(graph.parents.get('y')).toEqual(['x', 'z']);
  });

  it('ignores dangling edges and counts duplicate edges once', () => {
    const graph = buildFlowGraph({ nodes: nodes('a', 'b'), edges: [{ from: 'a', to: 'b' }, { from: 'a', to: 'b' }, { from: 'a', to: 'zz' }, { from: 'zz', to: 'b' }] });
    expect(Object.fromEntries(graph.children)).toEqual({ a: ['b'], b: [] });
    expect(Object.fromEntries(graph.parents)).toEqual({ a: [], b: ['a'] });
  });
});

describe('ancestorsOf', () => {
  it('returns every node upstream, not siblings or descendants', () => {
    const graph = buildFlowGraph({ ...diamond, nodes: nodes('a', 'b', 'c', 'd', 'e'), edges: [...diamond.edges, { from: 'd', to: 'e' }] });
    expect([...ancestorsOf(graph, 'e')].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect([...ancestorsOf(graph, 'd')].sort()).toEqual(['a', 'b', 'c']);
    expect([...ancestorsOf(graph, 'b')]).toEqual(['a']);
    expect(ancestorsOf(graph, 'a').size).toBe(0);
  });

  it('returns an empty set for an unknown node', () => {
    expect(ancestorsOf(buildFlowGraph(diamond), 'nope').size).toBe(0);
  });

  it('terminates on a cycle and includes the node itself', () => {
    const graph = buildFlowGraph({ nodes: nodes('a', 'b'), edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] });
    expect([...ancestorsOf(graph, 'a')].sort()).toEqual(['a', 'b']);
  });
});
