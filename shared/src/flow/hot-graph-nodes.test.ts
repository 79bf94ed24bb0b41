import { describe, expect, it } from 'vitest';
import { hotGraphNodes } from './hot-graph-nodes.js';

describe('hotGraphNodes', () => {
  it('gives each node its incoming edge count and children, in declaration order', () => {
    const flow = {
      nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'a', to: 'c' },
        { from: 'b', to: 'd' },
        { from: 'c', to: 'd' },
      ],
    };
    expect(hotGraphNodes(flow)).toEqual([
      { id: 'a', parentCount: 0, children: ['b', 'c'] },
      { id: 'b', parentCount: 1, children: ['d'] },
      { id: 'c', parentCount: 1, children: ['d'] },
      { id: 'd', parentCount: 2, children: [] },
    ]);
  });

  it('returns one entry for a single node', () => {
    expect(hotGraphNodes({ nodes: [{ id: 'only' }], edges: [] })).toEqual([{ id: 'only', parentCount: 0, children: [] }]);
  });
});
