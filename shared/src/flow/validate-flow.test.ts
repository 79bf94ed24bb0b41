import { describe, expect, it } from 'vitest';
import { errorCatalog } from '../errors/codes.js';
import type { ErrorDetail } from '../errors/weft-error.js';
import { invalidFlowFixtures, loadFlowFixture, VALID_FLOW_FIXTURES } from '../../../test/fixtures/flows/flow-fixtures.js';
import { validateFlow } from './validate-flow.js';
import { CODE_SOURCE_MAX_LENGTH } from './types.js';

const invalid = invalidFlowFixtures();

function errorsOf(input: unknown): ErrorDetail[] {
  const result = validateFlow(input);
  if (result.ok) throw new Error('expected the flow to be invalid');
  return result.errors;
}

function codesAndPaths(input: unknown): { code: string | undefined; path: string }[] {
  return errorsOf(input).map(({ code, path }) => ({ code, path }));
}

const llm = (id: string, prompt: string): Record<string, unknown> => ({ id, type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt });

describe('validateFlow: valid flows', () => {
  it.each(VALID_FLOW_FIXTURES)('accepts %s and returns it', (name) => {
    const input = loadFlowFixture(name);
    expect(validateFlow(input)).toEqual({ ok: true, flow: input });
  });

  it('treats missing edges as none', () => {
    const result = validateFlow({ name: 'single', nodes: [llm('a', 'hi {{input.x}}')] });
    expect(result).toEqual({ ok: true, flow: { name: 'single', nodes: [llm('a', 'hi {{input.x}}')], edges: [] } });
  });

  it('accepts an output node, common node fields and every llm option', () => {
    const node = {
      ...llm('a', 'hi'),
      system: 'be brief',
      temperature: 0,
      maxTokens: 1,
      stream: true,
      responseFormat: 'json',
      retry: { attempts: 20, backoff: { type: 'exponential', delayMs: 3_600_000 } },
      timeoutMs: 86_400_000,
      onError: 'continue',
    };
    const flow = { name: 'x'.repeat(200), nodes: [node, { id: 'b', type: 'transform', expression: 'nodes.a' }], edges: [{ from: 'a', to: 'b' }], output: 'b' };
    expect(validateFlow(flow)).toEqual({ ok: true, flow });
  });

  it('accepts messages instead of a prompt, with refs to ancestors two levels up', () => {
    const flow = {
      name: 'm',
      nodes: [
        llm('a', 'x'),
        llm('b', '{{a}}'),
        { id: 'c', type: 'llm', provider: 'anthropic', model: 'claude', messages: [{ role: 'user', content: '{{a.usage.totalTokens}} {{ b.output.x.0 }} {{input}}' }] },
      ],
      edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
    };
    expect(validateFlow(flow).ok).toBe(true);
  });

  it('accepts exactly 500 nodes', () => {
    const nodes = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, type: 'transform', expression: '1' }));
    expect(validateFlow({ name: 'big', nodes }).ok).toBe(true);
  });

  it('does not treat escaped braces as references', () => {
    expect(validateFlow({ name: 'esc', nodes: [llm('a', 'literal \\{{zz}} here')] }).ok).toBe(true);
  });
});

describe('validateFlow: invalid fixtures', () => {
  it('has fixtures', () => {
    expect(invalid.length).toBeGreaterThan(60);
  });

  it.each(invalid.map((f) => [f.name, f] as const))('%s → exactly the expected error', (_name, fixture) => {
    expect(codesAndPaths(fixture.flow)).toEqual([fixture.expect]);
  });

  it('cover every flow validation code and the template syntax code', () => {
    const covered = new Set(invalid.map((f) => f.expect.code));
    const expected = Object.keys(errorCatalog).filter((code) => code.startsWith('FLOW_') && code !== 'FLOW_VERSION_NOT_FOUND');
    expect(expected.filter((code) => !covered.has(code))).toEqual([]);
    expect(covered.has('TEMPLATE_SYNTAX')).toBe(true);
  });
});

describe('validateFlow: errors', () => {
  it('collects every error, in document order', () => {
    const flow = {
      name: '',
      extra: 1,
      nodes: [
        { id: 'a', type: 'llm', provider: 'nope', model: 'm', prompt: 'hi', temperature: 3 },
        { id: 'a', type: 'transform', expression: '(' },
        { id: 'input', type: 'smtp' },
        { id: 'c', type: 'llm', provider: 'openai', model: 'm', prompt: '{{zz}}' },
      ],
      edges: [{ from: 'a', to: 'c' }, { from: 'a', to: 'c' }, { from: 'c', to: 'c' }, { from: 'c', to: 'a', when: true }],
      output: 'nope',
    };
    expect(codesAndPaths(flow)).toEqual([
      { code: 'FLOW_INVALID_SHAPE', path: '/extra' },
      { code: 'FLOW_INVALID_SHAPE', path: '/name' },
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/provider' },
      { code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/temperature' },
      { code: 'FLOW_DUPLICATE_NODE_ID', path: '/nodes/1/id' },
      { code: 'FLOW_INVALID_EXPRESSION', path: '/nodes/1/expression' },
      { code: 'FLOW_RESERVED_NODE_ID', path: '/nodes/2/id' },
      { code: 'FLOW_UNKNOWN_NODE_TYPE', path: '/nodes/2/type' },
      { code: 'FLOW_DUPLICATE_EDGE', path: '/edges/1' },
      { code: 'FLOW_SELF_EDGE', path: '/edges/2' },
      { code: 'FLOW_CONDITION_EDGE', path: '/edges/3/when' },
      { code: 'FLOW_CYCLE', path: '/edges' },
      { code: 'FLOW_INVALID_OUTPUT', path: '/output' },
    ]);
  });

  it('collects several config errors of one node with precise paths', () => {
    const node = { id: 'a', type: 'llm', provider: 'openai', messages: [{ role: 'bot', content: 1 }], maxTokens: -1, retry: { attempts: 2, backoff: { type: 'fixed' } }, foo: 1 };
    const found = codesAndPaths({ name: 'n', nodes: [node] });
    expect(found.every((e) => e.code === 'FLOW_INVALID_NODE_CONFIG')).toBe(true);
    expect(found.map((e) => e.path).sort()).toEqual([
      '/nodes/0/foo',
      '/nodes/0/maxTokens',
      '/nodes/0/messages/0/content',
      '/nodes/0/messages/0/role',
      '/nodes/0/model',
      '/nodes/0/retry/backoff/delayMs',
    ]);
  });

  it('reports every bad reference, each at its field', () => {
    const flow = {
      name: 'refs',
      nodes: [
        llm('a', 'x'),
        { ...llm('b', '{{zz}} {{zz.output}} {{yy}}'), system: '{{c}}' },
        llm('c', '{{a}} {{'),
      ],
      edges: [{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }],
    };
    expect(errorsOf(flow)).toEqual([
      { code: 'FLOW_INVALID_REF', path: '/nodes/1/system', message: "node 'b' references 'c', which is not upstream of it" },
      { code: 'FLOW_INVALID_REF', path: '/nodes/1/prompt', message: "node 'b' references 'zz', which is not upstream of it" },
      { code: 'FLOW_INVALID_REF', path: '/nodes/1/prompt', message: "node 'b' references 'yy', which is not upstream of it" },
      { code: 'TEMPLATE_SYNTAX', path: '/nodes/2/prompt', message: "node 'c': unclosed '{{' at offset 6" },
    ]);
  });

  it('reports one cycle, named in the message, when there are several', () => {
    const flow = {
      name: 'cycles',
      nodes: ['a', 'b', 'c', 'd', 'e'].map((id) => llm(id, 'x')),
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a' },
        { from: 'd', to: 'e' },
        { from: 'e', to: 'd' },
      ],
    };
    expect(errorsOf(flow)).toEqual([{ code: 'FLOW_CYCLE', path: '/edges', message: 'cycle: a → b → c → a' }]);
  });

  it('skips upstream checks while an edge dangles, but still checks syntax', () => {
    const flow = { name: 'd', nodes: [llm('a', '{{b}}'), llm('b', '{{zz}} {{')], edges: [{ from: 'a', to: 'nope' }] };
    expect(codesAndPaths(flow)).toEqual([
      { code: 'FLOW_DANGLING_EDGE', path: '/edges/0/to' },
      { code: 'TEMPLATE_SYNTAX', path: '/nodes/1/prompt' },
    ]);
  });

  it('still rejects vault references when the graph has a cycle', () => {
    const flow = { name: 'v', nodes: [llm('a', '{{vault.K}}'), llm('b', 'x')], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] };
    expect(codesAndPaths(flow)).toEqual([
      { code: 'FLOW_CYCLE', path: '/edges' },
      { code: 'FLOW_INVALID_REF', path: '/nodes/0/prompt' },
    ]);
  });

  it('reports both ends of an edge between unknown nodes', () => {
    expect(codesAndPaths({ name: 'e', nodes: [llm('a', 'x')], edges: [{ from: 'x', to: 'y' }] })).toEqual([
      { code: 'FLOW_DANGLING_EDGE', path: '/edges/0/from' },
      { code: 'FLOW_DANGLING_EDGE', path: '/edges/0/to' },
    ]);
  });

  it('reports every repeated id at its own occurrence', () => {
    const nodes = [llm('a', 'x'), llm('a', 'x'), llm('a', 'x')];
    expect(codesAndPaths({ name: 'dup', nodes })).toEqual([
      { code: 'FLOW_DUPLICATE_NODE_ID', path: '/nodes/1/id' },
      { code: 'FLOW_DUPLICATE_NODE_ID', path: '/nodes/2/id' },
    ]);
  });

  it('escapes JSON pointer characters in unknown keys', () => {
    expect(codesAndPaths({ name: 'p', nodes: [llm('a', 'x')], 'a/b~c': 1 })).toEqual([{ code: 'FLOW_INVALID_SHAPE', path: '/a~1b~0c' }]);
  });

  it('rejects non-object input at the root', () => {
    expect(codesAndPaths(null)).toEqual([{ code: 'FLOW_INVALID_SHAPE', path: '' }]);
    expect(codesAndPaths('flow')).toEqual([{ code: 'FLOW_INVALID_SHAPE', path: '' }]);
  });

  it('gives messages that name the node and field', () => {
    const messages = errorsOf({ name: 'm', nodes: [{ ...llm('a', 'x'), temperature: 5 }, { id: 'b', type: 'transform', expression: 'a +' }] }).map((e) => e.message);
    expect(messages).toEqual(["node 'a': temperature must be <= 2", "node 'b': invalid JSONata expression: Unexpected end of expression (at position 3)"]);
  });
});

describe('validateFlow: code nodes', () => {
  const code = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id: 'c', type: 'code', source: 'return input.n + 1;', ...extra });

  it('accepts a code node at the top level and inside a map, with item and index', () => {
    expect(validateFlow(loadFlowFixture('code')).ok).toBe(true);
  });

  it('bounds the source: present, not empty, at most CODE_SOURCE_MAX_LENGTH characters', () => {
    expect(codesAndPaths({ name: 'x', nodes: [code({ source: '' })] })).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/source' }]);
    expect(validateFlow({ name: 'x', nodes: [code({ source: 'x'.repeat(CODE_SOURCE_MAX_LENGTH) })] }).ok).toBe(true);
    expect(codesAndPaths({ name: 'x', nodes: [code({ source: 'x'.repeat(CODE_SOURCE_MAX_LENGTH + 1) })] })).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/source' }]);
  });

  it("checks memoryMb and timeoutMs against the deployment's limits, wherever the node is", () => {
    const limits = { codeMaxMemoryMb: 128, codeMaxTimeoutMs: 10_000 };
    const flow = { name: 'x', nodes: [code({ memoryMb: 128, timeoutMs: 10_000 }), { id: 'm', type: 'map', items: '{{input.list}}', graph: { nodes: [code({ id: 'd', memoryMb: 129 })] } }] };
    const result = validateFlow(flow, { limits });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(({ code: c, path }) => ({ code: c, path }))).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/1/graph/nodes/0/memoryMb' }]);
    expect(result.errors[0]?.message).toContain('WEFT_CODE_MAX_MEMORY_MB');
    expect(validateFlow({ name: 'x', nodes: [code({ timeoutMs: 10_001 })] }, { limits }).ok).toBe(false);
    // The same flows pass under the default ceilings (512 MB, 60 s).
    expect(validateFlow(flow).ok).toBe(true);
    expect(codesAndPaths({ name: 'x', nodes: [code({ memoryMb: 4 })] })).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/memoryMb' }]);
  });
});
