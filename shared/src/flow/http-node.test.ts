import { describe, expect, it } from 'vitest';
import type { ErrorDetail } from '../errors/weft-error.js';
import { nodeReferences } from './node-references.js';
import type { HttpNode } from './types.js';
import { validateFlow } from './validate-flow.js';

function http(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'call', type: 'http', method: 'POST', url: 'https://api.example.com/v1/items', ...fields };
}

function flowOf(...nodes: Record<string, unknown>[]): Record<string, unknown> {
  const edges = nodes.slice(1).map((n, i) => ({ from: nodes[i]?.id, to: n.id }));
  return { name: 'http', nodes, edges };
}

function errorsOf(input: unknown): ErrorDetail[] {
  const result = validateFlow(input);
  if (result.ok) throw new Error('expected the flow to be invalid');
  return result.errors;
}

function codesAndPaths(input: unknown): { code: string | undefined; path: string }[] {
  return errorsOf(input).map(({ code, path }) => ({ code, path }));
}

describe('http nodes: validation', () => {
  it('accepts every method, templated url, headers and body, vault refs and common fields', () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const node = http({
        method,
        url: 'https://api.example.com/{{input.path}}?key={{vault.API_KEY}}',
        headers: { Authorization: 'Bearer {{vault.TOKEN}}', 'X-Trace': '{{input.trace}}' },
        body: { a: '{{input.x}}', list: ['{{vault._under_1}}', 2, null, true], nested: { s: 'lit' } },
        timeoutMs: 5000,
        retry: { attempts: 2 },
        onError: 'continue',
      });
      expect(validateFlow(flowOf(node)).ok, method).toBe(true);
    }
    expect(validateFlow(flowOf(http({ method: 'HEAD' }))).ok).toBe(true);
    expect(validateFlow(flowOf(http({ body: 'raw {{input.x}} text' }))).ok).toBe(true);
    expect(validateFlow(flowOf(http({ body: 42 }))).ok).toBe(true);
  });

  it('accepts a url whose scheme comes from a reference', () => {
    for (const url of ['{{input.url}}', '{{input.base}}/items', 'http{{input.s}}://x', 'HTTPS://{{input.host}}/']) {
      expect(validateFlow(flowOf(http({ url }))).ok, url).toBe(true);
    }
  });

  it('rejects other schemes, relative and malformed urls at validation time', () => {
    for (const url of ['ftp://example.com/file', 'FILE:///etc/passwd', 'gopher://{{input.h}}/', 'javascript:alert(1)', 'example.com/x', '/relative', 'x{{input.u}}', 'http://', 'https://user:pw@example.com/']) {
      expect(codesAndPaths(flowOf(http({ url }))), url).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/url' }]);
    }
    expect(codesAndPaths(flowOf(http({ url: '' })))).toContainEqual({ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/url' });
    expect(codesAndPaths(flowOf(http({ url: 42 })))).toContainEqual({ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/url' });
  });

  it('rejects unknown methods and fields, bad or reserved header names, duplicate headers and a HEAD body', () => {
    expect(codesAndPaths(flowOf(http({ method: 'CONNECT' })))).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/method' }]);
    expect(codesAndPaths(flowOf(http({ method: undefined })))).toContainEqual({ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/method' });
    expect(codesAndPaths(flowOf(http({ extra: 1 })))).toContainEqual({ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/extra' });
    expect(codesAndPaths(flowOf(http({ headers: { 'Bad Name': 'x' } })))).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/headers/Bad Name' }]);
    expect(codesAndPaths(flowOf(http({ headers: { Host: 'x' } })))).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/headers/Host' }]);
    expect(codesAndPaths(flowOf(http({ headers: { 'Content-Length': '1' } })))).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/headers/Content-Length' }]);
    expect(codesAndPaths(flowOf(http({ headers: { Accept: 'a', accept: 'b' } })))).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/headers/accept' }]);
    expect(codesAndPaths(flowOf(http({ headers: { A: 1 } })))).toContainEqual({ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/headers/A' });
    expect(codesAndPaths(flowOf(http({ method: 'HEAD', body: 'x' })))).toEqual([{ code: 'FLOW_INVALID_NODE_CONFIG', path: '/nodes/0/body' }]);
  });

  it('checks every templated field: syntax, upstream refs and vault refs with their JSON pointers', () => {
    const node = http({
      url: 'https://x/{{nope}}',
      headers: { 'X-A': '{{input.a', 'X/B': '{{vault}}' },
      body: { 'k/e~y': ['{{vault.BAD-NAME}}', '{{vault.A.B}}'] },
    });
    expect(codesAndPaths(flowOf(node))).toEqual(
      expect.arrayContaining([
        { code: 'FLOW_INVALID_REF', path: '/nodes/0/url' },
        { code: 'TEMPLATE_SYNTAX', path: '/nodes/0/headers/X-A' },
        { code: 'FLOW_INVALID_REF', path: '/nodes/0/headers/X~1B' },
        { code: 'FLOW_INVALID_REF', path: '/nodes/0/body/k~1e~0y/1' },
      ]),
    );
  });

  it('accepts references to upstream nodes in any field, and lists them for the worker', () => {
    const up = { id: 'up', type: 'transform', expression: '1' };
    const node = http({ url: 'https://x/{{up.output.id}}', headers: { 'X-A': '{{other}}' }, body: ['{{third}}', { k: '{{vault.K}}' }] });
    const flow = { name: 'refs', nodes: [up, { ...up, id: 'other' }, { ...up, id: 'third' }, node], edges: [{ from: 'up', to: 'call' }, { from: 'other', to: 'call' }, { from: 'third', to: 'call' }] };
    expect(validateFlow(flow).ok).toBe(true);
    expect(nodeReferences(node as unknown as HttpNode)).toEqual(['up', 'other', 'third']);
    expect(codesAndPaths({ ...flow, edges: flow.edges.slice(1) })).toEqual([{ code: 'FLOW_INVALID_REF', path: '/nodes/3/url' }]);
  });

  it('still rejects vault references outside http nodes', () => {
    const llm = { id: 'a', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'key {{vault.K}}' };
    expect(codesAndPaths(flowOf(llm))).toEqual([{ code: 'FLOW_INVALID_REF', path: '/nodes/0/prompt' }]);
  });
});
