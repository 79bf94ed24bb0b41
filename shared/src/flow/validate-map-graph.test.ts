import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import type { ErrorDetail } from '../errors/weft-error.js';
import { FlowDefinitionSchema } from './flow-schema.js';
import { validateFlow } from './validate-flow.js';

type Json = Record<string, unknown>;

const llm = (id: string, prompt: string): Json => ({ id, type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt });
const transform = (id: string, expression: string): Json => ({ id, type: 'transform', expression });

/** Index of the map node in mapFlow's nodes. */
const MAP = 2;

/**
 * fetch, intro → summarize (map: summary → shorten) → report. `graph` and `map` override the
 * map node's sub-graph and fields; `nodes` and `edges` are appended at the top level.
 */
function mapFlow(options: { map?: Json; graph?: Json; nodes?: Json[]; edges?: Json[] } = {}): Json {
  return {
    name: 'docs',
    nodes: [
      { id: 'fetch', type: 'http', method: 'GET', url: 'https://example.com/docs' },
      llm('intro', 'Say hi to {{input.user}}'),
      {
        id: 'summarize',
        type: 'map',
        items: '{{fetch.output.body.rows}}',
        concurrency: 5,
        graph: {
          nodes: [llm('summary', 'Summarize #{{index}}: {{item.text}} for {{intro}} ({{input.user}})'), transform('shorten', '$substring(nodes.summary, 0, 10) & item.title')],
          edges: [{ from: 'summary', to: 'shorten' }],
          ...options.graph,
        },
        ...options.map,
      },
      llm('report', 'Report: {{summarize}} {{summarize.output.0}}'),
      ...(options.nodes ?? []),
    ],
    edges: [{ from: 'fetch', to: 'summarize' }, { from: 'intro', to: 'summarize' }, { from: 'summarize', to: 'report' }, ...(options.edges ?? [])],
  };
}

function errorsOf(input: unknown): ErrorDetail[] {
  const result = validateFlow(input);
  if (result.ok) throw new Error('expected the flow to be invalid');
  return result.errors;
}

function codesAndPaths(input: unknown): { code: string | undefined; path: string }[] {
  return errorsOf(input).map(({ code, path }) => ({ code, path }));
}

describe('validateFlow: map nodes', () => {
  it('accepts a map flow and returns it', () => {
    const flow = mapFlow({ map: { output: 'shorten', onItemError: 'continue', retry: { attempts: 2 }, onError: 'continue' } });
    expect(validateFlow(flow)).toEqual({ ok: true, flow });
  });

  it('matches the OpenAPI schema', () => {
    expect(Compile(FlowDefinitionSchema).Check(mapFlow())).toBe(true);
  });

  it('fills in a missing sub-graph edges list', () => {
    const flow = mapFlow({ graph: { nodes: [llm('summary', '{{item}}')], edges: undefined } });
    delete ((flow.nodes as Json[])[MAP]?.graph as Json).edges;
    const result = validateFlow(flow);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.flow.nodes[MAP]).toMatchObject({ graph: { nodes: [llm('summary', '{{item}}')], edges: [] } });
  });

  it('accepts JSONata items', () => {
    expect(validateFlow(mapFlow({ map: { items: 'nodes.fetch.output.body.rows[score > 1]' } })).ok).toBe(true);
  });

  it('accepts a single {{ref}} to input with surrounding blanks', () => {
    expect(validateFlow(mapFlow({ map: { items: '  {{ input.docs }} ' } })).ok).toBe(true);
  });
});

describe('validateFlow: map items', () => {
  it('rejects JSONata that does not parse', () => {
    expect(codesAndPaths(mapFlow({ map: { items: '$map(' } }))).toEqual([{ code: 'FLOW_INVALID_EXPRESSION', path: '/nodes/2/items' }]);
  });

  it('rejects a reference to a node that is not upstream of the map', () => {
    expect(codesAndPaths(mapFlow({ map: { items: '{{report}}' } }))).toEqual([{ code: 'FLOW_INVALID_REF', path: '/nodes/2/items' }]);
  });

  it('rejects {{item}} as items (the map itself is not inside a map)', () => {
    expect(codesAndPaths(mapFlow({ map: { items: '{{item}}' } }))).toEqual([{ code: 'FLOW_INVALID_REF', path: '/nodes/2/items' }]);
  });

  it('reports a malformed reference as template syntax', () => {
    expect(codesAndPaths(mapFlow({ map: { items: '{{fetch.rows}}' } }))).toEqual([{ code: 'TEMPLATE_SYNTAX', path: '/nodes/2/items' }]);
  });

  it('checks the other map fields with the schema', () => {
    expect(codesAndPaths(mapFlow({ map: { items: '', concurrency: 1001, onItemError: 'skip', extra: 1 } }))).toEqual([
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/2/extra' },
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/2/items' },
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/2/concurrency' },
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/2/onItemError' },
    ]);
  });
});

describe('validateFlow: map graph shape', () => {
  const chainOf = (length: number): Json => {
    const nodes = Array.from({ length }, (_, i) => transform(`n${i}`, '1'));
    return { nodes, edges: nodes.slice(1).map((_, i) => ({ from: `n${i}`, to: `n${i + 1}` })) };
  };
  const withGraph = (graph: unknown): Json => {
    const flow = mapFlow();
    (flow.nodes as Json[])[MAP] = { ...(flow.nodes as Json[])[MAP], graph };
    return flow;
  };

  it.each([
    ['missing', undefined, '/nodes/2/graph'],
    ['not an object', [], '/nodes/2/graph'],
    ['without nodes', { edges: [] }, '/nodes/2/graph/nodes'],
    ['with nodes not an array', { nodes: {} }, '/nodes/2/graph/nodes'],
    ['with no nodes', { nodes: [] }, '/nodes/2/graph/nodes'],
    ['with too many nodes', chainOf(101), '/nodes/2/graph/nodes'],
    ['with edges not an array', { nodes: [llm('summary', 'x')], edges: 'a' }, '/nodes/2/graph/edges'],
    ['with an unknown key', { nodes: [llm('summary', 'x')], output: 'summary' }, '/nodes/2/graph/output'],
  ])('rejects a graph %s', (_name, graph, path) => {
    const flow = withGraph(graph);
    if (graph === undefined) delete (flow.nodes as Json[])[MAP]?.graph;
    expect(codesAndPaths(flow)).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path }]);
  });

  it('accepts 100 nodes', () => {
    expect(validateFlow(withGraph(chainOf(100))).ok).toBe(true);
  });
});

describe('validateFlow: map sub-graph nodes and edges', () => {
  it('checks sub-graph nodes like top-level ones, with paths under the map', () => {
    const graph = {
      nodes: [{ ...llm('summary', 'x'), temperature: 5 }, { id: '9bad', type: 'transform', expression: '1' }, { id: 'c', type: 'smtp' }, 'x', transform('d', '(')],
      edges: [],
    };
    expect(codesAndPaths(mapFlow({ graph, map: { output: 'summary' } }))).toEqual([
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/2/graph/nodes/0/temperature' },
      { code: 'FLOW_INVALID_NODE_ID', path: '/nodes/2/graph/nodes/1/id' },
      { code: 'FLOW_UNKNOWN_NODE_TYPE', path: '/nodes/2/graph/nodes/2/type' },
      { code: 'FLOW_INVALID_SHAPE', path: '/nodes/2/graph/nodes/3' },
      { code: 'FLOW_INVALID_EXPRESSION', path: '/nodes/2/graph/nodes/4/expression' },
    ]);
  });

  it('refuses a map inside a sub-graph, and takes a wait', () => {
    const inner = { id: 'inner', type: 'map', items: '{{item}}', graph: { nodes: [llm('deep', 'x')] } };
    const graph = { nodes: [llm('summary', 'x'), inner, { id: 'pause', type: 'wait', event: 'approval' }], edges: [] };
    const errors = errorsOf(mapFlow({ graph, map: { output: 'summary' } }));
    expect(errors).toEqual([
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/2/graph/nodes/1/type', message: expect.stringContaining('map sub-graphs may not contain map nodes') as string },
    ]);
  });

  it('checks sub-graph edges like top-level ones', () => {
    const graph = {
      nodes: [llm('summary', 'x'), transform('shorten', '1'), { id: 'check', type: 'condition', expression: 'true' }],
      edges: [
        { from: 'summary', to: 'shorten', when: true },
        { from: 'summary', to: 'nope' },
        { from: 'summary', to: 'fetch' },
        { from: 'shorten', to: 'shorten' },
        { from: 'summary', to: 'check' },
        { from: 'summary', to: 'check' },
        { from: 'check', to: 'shorten' },
      ],
    };
    expect(codesAndPaths(mapFlow({ graph, map: { output: 'shorten' } }))).toEqual([
      { code: 'FLOW_CONDITION_EDGE', path: '/nodes/2/graph/edges/0/when' },
      { code: 'FLOW_DANGLING_EDGE', path: '/nodes/2/graph/edges/1/to' },
      { code: 'FLOW_DANGLING_EDGE', path: '/nodes/2/graph/edges/2/to' },
      { code: 'FLOW_SELF_EDGE', path: '/nodes/2/graph/edges/3' },
      { code: 'FLOW_DUPLICATE_EDGE', path: '/nodes/2/graph/edges/5' },
      { code: 'FLOW_CONDITION_EDGE', path: '/nodes/2/graph/edges/6' },
    ]);
  });

  it('says a sub-graph edge may not leave its graph', () => {
    const graph = { nodes: [llm('summary', 'x')], edges: [{ from: 'fetch', to: 'summary' }] };
    expect(errorsOf(mapFlow({ graph }))).toEqual([
      { code: 'FLOW_DANGLING_EDGE', path: '/nodes/2/graph/edges/0/from', message: "edge #0: 'fetch' is not a node of map 'summarize' (edges stay within one graph)" },
    ]);
  });

  it('says a top-level edge may not enter a sub-graph', () => {
    expect(errorsOf(mapFlow({ edges: [{ from: 'fetch', to: 'shorten' }] }))).toEqual([
      { code: 'FLOW_DANGLING_EDGE', path: '/edges/3/to', message: "edge #3: 'shorten' is inside map 'summarize' (edges stay within one graph)" },
    ]);
  });

  it('reports a cycle in a sub-graph at the graph', () => {
    const graph = { edges: [{ from: 'summary', to: 'shorten' }, { from: 'shorten', to: 'summary' }] };
    expect(errorsOf(mapFlow({ graph, map: { output: 'shorten' } }))).toEqual([
      { code: 'FLOW_CYCLE', path: '/nodes/2/graph', message: "node 'summarize': cycle in its graph: summary → shorten → summary" },
    ]);
  });
});

describe('validateFlow: node ids across scopes', () => {
  it('rejects a sub-graph id used at the top level', () => {
    const graph = { nodes: [llm('intro', 'x')], edges: [] };
    expect(errorsOf(mapFlow({ graph }))).toEqual([
      {
        code: 'FLOW_DUPLICATE_NODE_ID',
        path: '/nodes/2/graph/nodes/0/id',
        message: "node id 'intro' is already used by node #1 (ids are unique across the flow, map sub-graphs included)",
      },
    ]);
  });

  it("rejects a sub-graph id equal to the map's own", () => {
    expect(codesAndPaths(mapFlow({ graph: { nodes: [llm('summarize', 'x')], edges: [] } }))).toEqual([{ code: 'FLOW_DUPLICATE_NODE_ID', path: '/nodes/2/graph/nodes/0/id' }]);
  });

  it('rejects an id repeated within a sub-graph', () => {
    expect(codesAndPaths(mapFlow({ graph: { nodes: [llm('a', 'x'), llm('a', 'y')], edges: [] }, map: { output: 'a' } }))).toEqual([
      { code: 'FLOW_DUPLICATE_NODE_ID', path: '/nodes/2/graph/nodes/1/id' },
    ]);
  });

  it("rejects an id used in another map's sub-graph, at the later one", () => {
    const other = { id: 'again', type: 'map', items: '{{input.docs}}', graph: { nodes: [llm('summary', '{{item}}')] } };
    expect(errorsOf(mapFlow({ nodes: [other] }))).toEqual([
      {
        code: 'FLOW_DUPLICATE_NODE_ID',
        path: '/nodes/4/graph/nodes/0/id',
        message: "node id 'summary' is already used by node #0 of map 'summarize' (ids are unique across the flow, map sub-graphs included)",
      },
    ]);
  });

  it('rejects a top-level id used earlier in a sub-graph, at the sub-graph node', () => {
    expect(codesAndPaths(mapFlow({ nodes: [llm('shorten', 'x')] }))).toEqual([{ code: 'FLOW_DUPLICATE_NODE_ID', path: '/nodes/2/graph/nodes/1/id' }]);
  });

  it('rejects reserved ids in a sub-graph', () => {
    expect(codesAndPaths(mapFlow({ graph: { nodes: [llm('item', 'x')], edges: [] } }))).toEqual([{ code: 'FLOW_RESERVED_NODE_ID', path: '/nodes/2/graph/nodes/0/id' }]);
  });
});

describe('validateFlow: map output', () => {
  it('rejects an output that is not a sub-graph node', () => {
    expect(errorsOf(mapFlow({ map: { output: 'nope' } }))).toEqual([
      { code: 'FLOW_INVALID_OUTPUT', path: '/nodes/2/output', message: "node 'summarize': output 'nope' is not a node of its graph" },
    ]);
    expect(codesAndPaths(mapFlow({ map: { output: 'fetch' } }))).toEqual([{ code: 'FLOW_INVALID_OUTPUT', path: '/nodes/2/output' }]);
  });

  it('defaults to the only leaf', () => {
    expect(validateFlow(mapFlow()).ok).toBe(true);
    expect(validateFlow(mapFlow({ graph: { nodes: [llm('summary', '{{item}}')], edges: [] } })).ok).toBe(true);
  });

  it("refuses a sub-graph node as the flow's output", () => {
    expect(errorsOf({ ...mapFlow(), output: 'shorten' })).toEqual([
      { code: 'FLOW_INVALID_OUTPUT', path: '/output', message: "output 'shorten' is inside map 'summarize'; name the map instead" },
    ]);
  });

  it('needs output when the sub-graph has several leaves', () => {
    // Two unconnected nodes; the transform reads only its item (reading nodes.summary it would not be upstream).
    const graph = { nodes: [llm('summary', 'Summarize {{item.text}}'), transform('shorten', 'item.title')], edges: [] };
    expect(errorsOf(mapFlow({ graph }))).toEqual([
      {
        code: 'FLOW_INVALID_OUTPUT',
        path: '/nodes/2/output',
        message: "node 'summarize': its graph has 2 leaves (summary, shorten); set output to the node whose output fills each slot",
      },
    ]);
    expect(validateFlow(mapFlow({ graph, map: { output: 'summary' } })).ok).toBe(true);
  });
});

describe('validateFlow: templates in map sub-graphs', () => {
  const graphWith = (...nodes: Json[]): Json => ({ nodes, edges: [] });

  it('allows {{item}}, {{item.x.y}} and {{index}} only inside a sub-graph', () => {
    expect(validateFlow(mapFlow({ graph: graphWith(llm('summary', '{{item}} {{item.x.y}} {{item.0}} {{index}}')) })).ok).toBe(true);
    expect(errorsOf(mapFlow({ nodes: [llm('top', '{{item.x}} {{index}}')] }))).toEqual([
      { code: 'FLOW_INVALID_REF', path: '/nodes/4/prompt', message: "node 'top' uses {{item.x}}, but 'item' exists only inside a map's sub-graph" },
      { code: 'FLOW_INVALID_REF', path: '/nodes/4/prompt', message: "node 'top' uses {{index}}, but 'index' exists only inside a map's sub-graph" },
    ]);
  });

  it('rejects a path after {{index}}', () => {
    expect(codesAndPaths(mapFlow({ graph: graphWith(llm('summary', '{{index.x}}')) }))).toEqual([{ code: 'FLOW_INVALID_REF', path: '/nodes/2/graph/nodes/0/prompt' }]);
  });

  it('allows vault references only in http sub-graph nodes', () => {
    const http = { id: 'post', type: 'http', method: 'POST', url: 'https://api.example.com/{{index}}', headers: { Authorization: 'Bearer {{vault.KEY}}' }, body: { text: '{{item}}' } };
    expect(validateFlow(mapFlow({ graph: graphWith(http) })).ok).toBe(true);
    expect(codesAndPaths(mapFlow({ graph: graphWith(llm('summary', '{{vault.KEY}}')) }))).toEqual([{ code: 'FLOW_INVALID_REF', path: '/nodes/2/graph/nodes/0/prompt' }]);
  });

  it('checks template syntax in sub-graph nodes', () => {
    expect(codesAndPaths(mapFlow({ graph: graphWith(llm('summary', '{{item')) }))).toEqual([{ code: 'TEMPLATE_SYNTAX', path: '/nodes/2/graph/nodes/0/prompt' }]);
  });

  it('allows references to upstream sub-graph nodes and to ancestors of the map', () => {
    const flow = mapFlow({
      graph: {
        nodes: [llm('summary', '{{fetch.output.status}} {{intro}} {{root}}'), llm('shorten', '{{summary}} {{summary.usage.totalTokens}}')],
        edges: [{ from: 'summary', to: 'shorten' }],
      },
      nodes: [llm('root', 'x')],
      edges: [{ from: 'root', to: 'fetch' }],
    });
    expect(validateFlow(flow).ok).toBe(true);
  });

  it('rejects references to sub-graph nodes that are not upstream, and to top-level nodes that are not ancestors of the map', () => {
    const graph = {
      nodes: [llm('summary', '{{shorten}} {{report}} {{summarize}} {{zz}}'), llm('shorten', '{{summary}}')],
      edges: [{ from: 'summary', to: 'shorten' }],
    };
    expect(errorsOf(mapFlow({ graph }))).toEqual([
      { code: 'FLOW_INVALID_REF', path: '/nodes/2/graph/nodes/0/prompt', message: "node 'summary' references 'shorten', which is not upstream of it" },
      {
        code: 'FLOW_INVALID_REF',
        path: '/nodes/2/graph/nodes/0/prompt',
        message: "node 'summary' references 'report', which is neither upstream of it in map 'summarize' nor upstream of the map",
      },
      {
        code: 'FLOW_INVALID_REF',
        path: '/nodes/2/graph/nodes/0/prompt',
        message: "node 'summary' references 'summarize', which is neither upstream of it in map 'summarize' nor upstream of the map",
      },
      { code: 'FLOW_INVALID_REF', path: '/nodes/2/graph/nodes/0/prompt', message: "node 'summary' references 'zz', which is neither upstream of it in map 'summarize' nor upstream of the map" },
    ]);
  });

  it('rejects top-level references to sub-graph nodes', () => {
    const flow = mapFlow();
    (flow.nodes as Json[])[3] = llm('report', 'Report: {{summary}}');
    expect(errorsOf(flow)).toEqual([
      {
        code: 'FLOW_INVALID_REF',
        path: '/nodes/3/prompt',
        message: "node 'report' references 'summary', which is inside map 'summarize'; reference the map's output instead",
      },
    ]);
  });

  it("rejects references to another map's sub-graph nodes", () => {
    const other = { id: 'again', type: 'map', items: '{{input.docs}}', graph: { nodes: [llm('other', '{{item}} {{summary}}')] } };
    expect(codesAndPaths(mapFlow({ nodes: [other], edges: [{ from: 'summarize', to: 'again' }] }))).toEqual([
      { code: 'FLOW_INVALID_REF', path: '/nodes/4/graph/nodes/0/prompt' },
    ]);
    const otherItems = { id: 'again', type: 'map', items: '{{summary.output}}', graph: { nodes: [llm('other', '{{item}}')] } };
    expect(codesAndPaths(mapFlow({ nodes: [otherItems], edges: [{ from: 'summarize', to: 'again' }] }))).toEqual([{ code: 'FLOW_INVALID_REF', path: '/nodes/4/items' }]);
  });

  it('skips upstream checks of outer references while the top-level graph has a cycle, but not local ones', () => {
    const graph = { nodes: [llm('summary', '{{report}} {{shorten}}'), llm('shorten', 'x')], edges: [{ from: 'summary', to: 'shorten' }] };
    expect(codesAndPaths(mapFlow({ graph, edges: [{ from: 'report', to: 'fetch' }] }))).toEqual([
      { code: 'FLOW_CYCLE', path: '/edges' },
      { code: 'FLOW_INVALID_REF', path: '/nodes/2/graph/nodes/0/prompt' },
    ]);
  });
});
