import { describe, expect, it } from 'vitest';
import { WeftError } from '../errors/weft-error.js';
import { buildFlowGraph } from './flow-graph.js';
import { isMapItemNodeId, mapItemNodeId, mapItemsSource, mapOutputNode, parseMapItemNodeId } from './map-node.js';
import { mapItemReads, nodeReads } from './node-reads.js';
import type { FlowDefinition, HttpNode, LlmNode, MapNode, TransformNode } from './types.js';

const llm = (id: string, prompt: string): LlmNode => ({ id, type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt });

function mapNode(overrides: Partial<MapNode> = {}): MapNode {
  return {
    id: 'summarize',
    type: 'map',
    items: '{{fetch.output.rows}}',
    graph: {
      nodes: [llm('split', '{{item}}'), llm('summary', '{{split}}'), { id: 'shorten', type: 'transform', expression: 'nodes.summary' }],
      edges: [{ from: 'split', to: 'summary' }, { from: 'summary', to: 'shorten' }],
    },
    ...overrides,
  };
}

/** root → fetch → summarize ← intro; other is unrelated. */
function flowWith(map: MapNode): FlowDefinition {
  return {
    name: 'f',
    nodes: [llm('root', 'x'), llm('fetch', '{{root}}'), llm('intro', 'x'), map, llm('other', 'x')],
    edges: [{ from: 'root', to: 'fetch' }, { from: 'fetch', to: 'summarize' }, { from: 'intro', to: 'summarize' }],
  };
}

describe('map item node ids', () => {
  it.each([
    ['summarize', 3, 'llm', 'summarize[3].llm'],
    ['a', 0, 'b', 'a[0].b'],
    ['Map_1-x', 9999, 'n-2_y', 'Map_1-x[9999].n-2_y'],
  ])('formats and parses %s[%i].%s', (mapId, index, nodeId, id) => {
    expect(mapItemNodeId(mapId, index, nodeId)).toBe(id);
    expect(parseMapItemNodeId(id)).toEqual({ mapId, index, nodeId });
    expect(isMapItemNodeId(id)).toBe(true);
  });

  it.each([
    'summarize',
    'summarize[3]',
    'summarize[3].',
    '[3].llm',
    'summarize[03].llm',
    'summarize[-1].llm',
    'summarize[1.5].llm',
    'summarize[].llm',
    'summarize[3].llm.x',
    'summarize[3][4].llm',
    'a.b[1].c',
    '1a[0].b',
    `a[0].${'b'.repeat(65)}`,
    'a[99999999999999999999].b',
    ' a[0].b',
  ])('rejects %j', (id) => {
    expect(parseMapItemNodeId(id)).toBeNull();
    expect(isMapItemNodeId(id)).toBe(false);
  });
});

describe('mapItemsSource', () => {
  it('takes a single reference as a template, trimmed', () => {
    expect(mapItemsSource(mapNode({ items: '  {{ input.docs }}\n' }))).toEqual({ kind: 'template', template: '{{ input.docs }}' });
  });

  it('takes anything else as JSONata', () => {
    expect(mapItemsSource(mapNode({ items: 'nodes.fetch.output.rows' }))).toEqual({ kind: 'jsonata', expression: 'nodes.fetch.output.rows' });
    expect(mapItemsSource(mapNode({ items: '{{a}} & {{b}}' }))).toEqual({ kind: 'jsonata', expression: '{{a}} & {{b}}' });
  });
});

describe('mapOutputNode', () => {
  it('is output when set', () => {
    expect(mapOutputNode(mapNode({ output: 'summary' }))).toBe('summary');
  });

  it("defaults to the sub-graph's only leaf", () => {
    expect(mapOutputNode(mapNode())).toBe('shorten');
  });

  it('throws FLOW_INVALID_OUTPUT when there are several leaves', () => {
    const map = mapNode({ graph: { nodes: [llm('a', 'x'), llm('b', 'y')], edges: [] } });
    expect(() => mapOutputNode(map)).toThrow(WeftError);
    expect(() => mapOutputNode(map)).toThrow(expect.objectContaining({ code: 'FLOW_INVALID_OUTPUT' }) as Error);
  });
});

describe('mapItemReads', () => {
  it('splits the nodes an llm sub-node names into local and outer, without item, index, input or vault', () => {
    const sub = llm('summary', '{{split}} {{item.text}} {{index}} {{input.x}} {{intro}} {{split.usage.totalTokens}} {{fetch.output}}');
    const map = mapNode({ graph: { nodes: [llm('split', '{{item}}'), sub], edges: [{ from: 'split', to: 'summary' }] } });
    const graph = buildFlowGraph(flowWith(map));
    expect(mapItemReads(graph, map, sub)).toEqual({ local: ['split'], outer: ['intro', 'fetch'] });
  });

  it('reads nothing for a sub-node that only uses item, index, input and vault', () => {
    const sub: HttpNode = { id: 'post', type: 'http', method: 'POST', url: 'https://x.example/{{index}}', headers: { a: '{{vault.K}}' }, body: { t: '{{item}} {{input}}' } };
    const map = mapNode({ graph: { nodes: [sub], edges: [] } });
    expect(mapItemReads(buildFlowGraph(flowWith(map)), map, sub)).toEqual({ local: [], outer: [] });
  });

  it('gives a transform sub-node every sub-graph ancestor and every ancestor of the map', () => {
    const map = mapNode();
    const sub = map.graph.nodes[2] as TransformNode;
    const { local, outer } = mapItemReads(buildFlowGraph(flowWith(map)), map, sub);
    expect(local.sort()).toEqual(['split', 'summary']);
    expect(outer.sort()).toEqual(['fetch', 'intro', 'root']);
  });

  it('gives a root transform sub-node no local reads', () => {
    const sub: TransformNode = { id: 'first', type: 'transform', expression: 'item' };
    const map = mapNode({ graph: { nodes: [sub], edges: [] } });
    expect(mapItemReads(buildFlowGraph(flowWith(map)), map, sub).local).toEqual([]);
  });
});

describe('nodeReads of a map node', () => {
  it('reads every ancestor when items is JSONata', () => {
    const map = mapNode({ items: 'nodes.fetch.output.rows' });
    expect(nodeReads(buildFlowGraph(flowWith(map)), map).sort()).toEqual(['fetch', 'intro', 'root']);
  });

  const templated = { nodes: [llm('split', '{{item}}'), llm('summary', '{{split}} {{intro}}')], edges: [{ from: 'split', to: 'summary' }] };

  it('reads the referenced node when items is a template, and what its items read from outside', () => {
    const map = mapNode({ graph: templated });
    expect(nodeReads(buildFlowGraph(flowWith(map)), map)).toEqual(['fetch', 'intro']);
  });

  it('reads nothing for a template over input whose items read nothing outside', () => {
    const map = mapNode({ items: '{{input.docs}}', graph: { nodes: [llm('split', '{{item}} {{index}}')], edges: [] } });
    expect(nodeReads(buildFlowGraph(flowWith(map)), map)).toEqual([]);
  });

  it("reads every ancestor when one of its items' nodes is JSONata", () => {
    const map = mapNode({ items: '{{input.docs}}' });
    expect(nodeReads(buildFlowGraph(flowWith(map)), map).sort()).toEqual(['fetch', 'intro', 'root']);
  });
});
