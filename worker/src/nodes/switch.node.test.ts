/** The switch executor, on nodes and out-edges as the flow cache compiles them. */
import { describe, expect, it } from 'vitest';
import type { FlowDefinition, SwitchNode } from '@weft/shared/flow';
import { createLogger } from '@weft/shared/logging';
import { compileFlow } from '@weft/shared/run-engine';
import { runSwitchNode } from './switch.node.js';
import type { NodeRunContext } from '@weft/shared/ports';

const logger = createLogger({ level: 'silent', name: 'test' });

/** The flow's switch node `s` and its out-edges, as the flow cache compiles them. */
function switchNodeOf(flow: Omit<FlowDefinition, 'name'>): Pick<NodeRunContext<SwitchNode>, 'node' | 'outEdges'> {
  const record: Parameters<typeof compileFlow>[0] = { ...flow, name: 'f', id: 'flow', workspaceId: 'ws', version: 1, createdAt: new Date(0), updatedAt: new Date(0) };
  const compiled = compileFlow(record);
  expect(compiled.reads.get('s')).toEqual([]);
  return { node: compiled.nodes.get('s') as SwitchNode, outEdges: compiled.outEdges.get('s') ?? [] };
}

function context(compiled: Pick<NodeRunContext<SwitchNode>, 'node' | 'outEdges'>, input: unknown): NodeRunContext<SwitchNode> {
  return { ...compiled, workspaceId: 'ws', executionId: 'ex', attempt: 1, input, results: {}, signal: new AbortController().signal, logger, emitToken: () => undefined };
}

const target = (id: string): { id: string; type: 'transform'; expression: string } => ({ id, type: 'transform', expression: '1' });

const withDefault = switchNodeOf({
  nodes: [{ id: 's', type: 'switch', expression: 'input.kind' }, ...['billing', 'tech', 'gold', 'none', 'other'].map(target)],
  edges: [
    { from: 's', to: 'billing', when: 'billing' },
    { from: 's', to: 'tech', when: 2 },
    { from: 's', to: 'gold', when: { tier: 'gold', tags: ['a'] } },
    { from: 's', to: 'none', when: null },
    { from: 's', to: 'other', default: true },
  ],
});

describe('switch node', () => {
  it.each([
    ['billing', 'billing'],
    [2, 'tech'],
    [{ tags: ['a'], tier: 'gold' }, 'gold'],
    [null, 'none'],
  ])('outputs %j and takes the matching case edge', async (kind, child) => {
    const outcome = await runSwitchNode(context(withDefault, { kind }));
    expect(outcome).toEqual({ output: kind, resolvedInput: null, usage: null, cost: null, provider: null, model: null, takenChildren: [child] });
  });

  it('outputs null for no value and takes the null case', async () => {
    expect(await runSwitchNode(context(withDefault, {}))).toMatchObject({ output: null, takenChildren: ['none'] });
  });

  it.each([['Billing'], ['2'], [{ tier: 'gold' }], [[2]]])('takes the default edge for %j', async (kind) => {
    expect(await runSwitchNode(context(withDefault, { kind }))).toMatchObject({ output: kind, takenChildren: ['other'] });
  });

  it('takes nothing when no case matches and there is no default', async () => {
    const noDefault = switchNodeOf({
      nodes: [{ id: 's', type: 'switch', expression: '$lowercase(input.kind)' }, target('a'), target('b')],
      edges: [{ from: 's', to: 'a', when: 'a' }, { from: 's', to: 'b', when: 'b' }],
    });
    expect(await runSwitchNode(context(noDefault, { kind: 'B' }))).toMatchObject({ output: 'b', takenChildren: ['b'] });
    expect(await runSwitchNode(context(noDefault, { kind: 'C' }))).toMatchObject({ output: 'c', takenChildren: [] });
  });

  it('fails for good (TRANSFORM_FAILED) when the expression fails', async () => {
    const bad = switchNodeOf({ nodes: [{ id: 's', type: 'switch', expression: '1 + input.kind' }], edges: [] });
    await expect(runSwitchNode(context(bad, { kind: 'x' }))).rejects.toMatchObject({ code: 'TRANSFORM_FAILED', category: 'permanent' });
  });
});
