/** Validation of condition and switch nodes and of the labels on their out-edges. */
import { describe, expect, it } from 'vitest';
import type { ErrorDetail } from '../errors/weft-error.js';
import { validateFlow } from './validate-flow.js';

const llm = (id: string, prompt = 'hi'): Record<string, unknown> => ({ id, type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt });
const condition = (id: string, expression = 'input.ok'): Record<string, unknown> => ({ id, type: 'condition', expression });
const switchNode = (id: string, expression = 'input.kind'): Record<string, unknown> => ({ id, type: 'switch', expression });

function errorsOf(flow: unknown): ErrorDetail[] {
  const result = validateFlow(flow);
  return result.ok ? [] : result.errors;
}

const codesAndPaths = (flow: unknown): { code: string | undefined; path: string }[] => errorsOf(flow).map(({ code, path }) => ({ code, path }));

describe('condition nodes', () => {
  it('accepts true and false edges, several per value, one value only, or none', () => {
    const flow = {
      name: 'c',
      nodes: [condition('c'), llm('a'), llm('b'), llm('d'), condition('only'), llm('e'), condition('leaf')],
      edges: [
        { from: 'c', to: 'a', when: true },
        { from: 'c', to: 'b', when: true },
        { from: 'c', to: 'd', when: false },
        { from: 'd', to: 'only' },
        { from: 'only', to: 'e', when: false },
      ],
    };
    expect(validateFlow(flow)).toEqual({ ok: true, flow });
  });

  it('accepts the common node fields, and templates may read its output', () => {
    const flow = {
      name: 'c',
      nodes: [
        { ...condition('c'), retry: { attempts: 2 }, timeoutMs: 1000, onError: 'continue' },
        llm('a', 'passed: {{c}} {{c.output}}'),
      ],
      edges: [{ from: 'c', to: 'a', when: true }],
    };
    expect(validateFlow(flow).ok).toBe(true);
  });

  it('reports every bad label, each at its edge, in document order', () => {
    const flow = {
      name: 'c',
      nodes: [condition('c'), llm('a'), llm('b'), llm('d'), llm('e')],
      edges: [
        { from: 'c', to: 'a' },
        { from: 'c', to: 'b', when: 1 },
        { from: 'c', to: 'd', when: false, default: true },
        { from: 'c', to: 'e', when: null },
      ],
    };
    expect(codesAndPaths(flow)).toEqual([
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/0' },
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/1/when' },
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/2/default' },
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/3/when' },
    ]);
  });

  it('names the edge, the node and the fix in its messages', () => {
    const flow = { name: 'c', nodes: [condition('c'), llm('a')], edges: [{ from: 'c', to: 'a', when: 'yes' }] };
    expect(errorsOf(flow).map((e) => e.message)).toEqual(['edge #0: an edge out of condition \'c\' needs "when": true or "when": false, not "yes"']);
  });

  it('checks the expression and the config like a transform', () => {
    expect(codesAndPaths({ name: 'c', nodes: [condition('c', '')] })).toEqual([{ code: 'FLOW_INVALID_EXPRESSION', path: '/nodes/0/expression' }]);
    const found = codesAndPaths({ name: 'c', nodes: [{ ...condition('c'), prompt: 'x', onError: 'ignore' }] });
    expect(found.sort((x, y) => x.path.localeCompare(y.path))).toEqual([
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/onError' },
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/prompt' },
    ]);
  });
});

describe('switch nodes', () => {
  it('accepts cases of any JSON type, told apart by deep equality, and one default', () => {
    const targets = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const flow = {
      name: 's',
      nodes: [switchNode('s'), ...targets.map((id) => llm(id))],
      edges: [
        { from: 's', to: 'a', when: 'x' },
        { from: 's', to: 'b', when: 1 },
        { from: 's', to: 'c', when: '1' },
        { from: 's', to: 'd', when: null },
        { from: 's', to: 'e', when: [1, 2] },
        { from: 's', to: 'f', when: [2, 1] },
        { from: 's', to: 'g', when: { a: { b: 1 } } },
        { from: 's', to: 'h', default: true },
      ],
    };
    expect(validateFlow(flow)).toEqual({ ok: true, flow });
  });

  it('accepts a switch with only a default, only cases, or no out-edge', () => {
    const flow = {
      name: 's',
      nodes: [switchNode('s1'), switchNode('s2'), switchNode('s3'), llm('a'), llm('b')],
      edges: [{ from: 's1', to: 'a', default: true }, { from: 's2', to: 'b', when: false }],
    };
    expect(validateFlow(flow).ok).toBe(true);
  });

  it('reports repeated cases and defaults at the later edge, per switch node', () => {
    const flow = {
      name: 's',
      nodes: [switchNode('s'), switchNode('t'), llm('a'), llm('b'), llm('c'), llm('d'), llm('e')],
      edges: [
        { from: 's', to: 'a', when: { k: [1, { z: 2 }], j: 'x' } },
        { from: 's', to: 'b', default: true },
        // The same case and default out of another switch are fine.
        { from: 't', to: 'a', when: { j: 'x', k: [1, { z: 2 }] } },
        { from: 't', to: 'b', default: true },
        { from: 's', to: 'c', when: { j: 'x', k: [1, { z: 2 }] } },
        { from: 's', to: 'd', default: true },
        { from: 's', to: 'e', when: 'other' },
      ],
    };
    expect(errorsOf(flow)).toEqual([
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/4/when', message: 'edge #4: case {"j":"x","k":[1,{"z":2}]} of switch \'s\' is already used by edge #0' },
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/5/default', message: "edge #5: switch 's' already has a default edge (edge #1)" },
    ]);
  });

  it('reports an edge without a label, with both labels, or with default false', () => {
    const flow = {
      name: 's',
      nodes: [switchNode('s'), llm('a'), llm('b'), llm('c')],
      edges: [
        { from: 's', to: 'a' },
        { from: 's', to: 'b', when: 'x', default: true },
        { from: 's', to: 'c', default: false },
      ],
    };
    expect(codesAndPaths(flow)).toEqual([
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/0' },
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/1/default' },
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/2/default' },
    ]);
  });

  it('reports one error for a duplicated edge, not a repeated case as well', () => {
    const flow = {
      name: 's',
      nodes: [switchNode('s'), llm('a')],
      edges: [{ from: 's', to: 'a', when: 'x' }, { from: 's', to: 'a', when: 'x' }],
    };
    expect(codesAndPaths(flow)).toEqual([{ code: 'FLOW_DUPLICATE_EDGE', path: '/edges/1' }]);
  });

  it('leaves a non-boolean default to the edge schema', () => {
    const flow = { name: 's', nodes: [switchNode('s'), llm('a')], edges: [{ from: 's', to: 'a', default: 'yes' }] };
    expect(codesAndPaths(flow)).toEqual([{ code: 'FLOW_INVALID_SHAPE', path: '/edges/0/default' }]);
  });
});

describe('labels out of other nodes', () => {
  it('are still refused, including out of nodes downstream of a branch', () => {
    const flow = {
      name: 'x',
      nodes: [condition('c'), { id: 't', type: 'transform', expression: 'nodes.c' }, llm('a'), llm('b')],
      edges: [
        { from: 'c', to: 't', when: true },
        { from: 't', to: 'a', default: true },
        { from: 'a', to: 'b', when: false },
      ],
    };
    expect(codesAndPaths(flow)).toEqual([
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/1/default' },
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/2/when' },
    ]);
  });
});
