import { describe, expect, it } from 'vitest';
import { expressionFields, expressionNodeRefs } from './expression-refs.js';
import { validateFlow } from './validate-flow.js';

describe('expressionNodeRefs', () => {
  it('lists the nodes read from the document, in order of first use', () => {
    expect(expressionNodeRefs('nodes.b')).toEqual(['b']);
    expect(expressionNodeRefs('nodes.b.x[y > 1] & nodes.`c-d`.z')).toEqual(['b', 'c-d']);
    expect(expressionNodeRefs('nodes.b ? nodes.c : nodes.b')).toEqual(['b', 'c']);
    expect(expressionNodeRefs('{ "a": nodes.q, "n": $count(nodes.r.items) }')).toEqual(['q', 'r']);
    expect(expressionNodeRefs('$map(input.x, function($v){ nodes.w })')).toEqual(['w']);
    expect(expressionNodeRefs('$.nodes.s')).toEqual(['s']);
    expect(expressionNodeRefs('input.items[$$.nodes.t = 1]')).toEqual(['t']);
    expect(expressionNodeRefs('(nodes).u')).toEqual([]);
  });

  it('ignores `nodes` read from another value, dynamic reads, and expressions that do not parse', () => {
    expect(expressionNodeRefs('input.items[nodes.z]')).toEqual([]);
    expect(expressionNodeRefs('input.{ "a": nodes.q }')).toEqual([]);
    expect(expressionNodeRefs('item.nodes.b')).toEqual([]);
    expect(expressionNodeRefs('$lookup(nodes, "b") & nodes.*')).toEqual([]);
    expect(expressionNodeRefs('nodes.(')).toEqual([]);
  });

  it('finds the JSONata fields of a node', () => {
    expect(expressionFields({ type: 'transform', expression: 'nodes.a' })).toEqual([{ pointer: '/expression', expression: 'nodes.a' }]);
    expect(expressionFields({ type: 'map', items: 'nodes.a.rows' })).toEqual([{ pointer: '/items', expression: 'nodes.a.rows' }]);
    expect(expressionFields({ type: 'map', items: '{{a.output.rows}}' })).toEqual([]);
    expect(expressionFields({ type: 'llm', prompt: 'nodes.a' })).toEqual([]);
  });
});

describe('validateFlow: JSONata references', () => {
  const t = (id: string, expression: string): Record<string, unknown> => ({ id, type: 'transform', expression });

  it('rejects a transform reading a node that is not upstream, at the expression\'s path', () => {
    const result = validateFlow({ name: 'r', nodes: [t('a', '1'), t('b', '2'), t('c', 'nodes.a + nodes.b')], edges: [{ from: 'a', to: 'c' }] });
    expect(result).toEqual({ ok: false, errors: [{ code: 'FLOW_INVALID_REF', path: '/nodes/2/expression', message: "node 'c' references 'b', which is not upstream of it (nodes.b)" }] });
  });

  it('accepts ancestors, also through a map: its items read the flow, its sub-graph reads its siblings and the map\'s ancestors', () => {
    const ok = validateFlow({
      name: 'ok',
      nodes: [
        t('a', '[1, 2]'),
        t('b', 'nodes.a'),
        { id: 'm', type: 'map', items: 'nodes.b', graph: { nodes: [t('x', 'item'), t('y', 'nodes.x + nodes.a[0]')], edges: [{ from: 'x', to: 'y' }] } },
      ],
      edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'm' }],
    });
    expect(ok.ok).toBe(true);
  });

  it('rejects a map\'s items, a condition and a sub-graph node reading what they cannot', () => {
    const result = validateFlow({
      name: 'bad',
      nodes: [
        t('a', '[1]'),
        { id: 'm', type: 'map', items: 'nodes.late', graph: { nodes: [t('x', 'nodes.y'), t('y', 'item')], edges: [{ from: 'x', to: 'y' }] } },
        { id: 'c', type: 'condition', expression: 'nodes.x = 1' },
        t('late', '1'),
      ],
      edges: [{ from: 'a', to: 'm' }, { from: 'm', to: 'c' }],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(({ code, path }) => ({ code, path }))).toEqual([
      { code: 'FLOW_INVALID_REF', path: '/nodes/1/items' },
      { code: 'FLOW_INVALID_REF', path: '/nodes/2/expression' },
      { code: 'FLOW_INVALID_REF', path: '/nodes/1/graph/nodes/0/expression' },
    ]);
    expect(result.errors[1]?.message).toContain("inside map 'm'");
  });
});
