/**
 * The condition executor, on nodes and out-edges as the flow cache compiles them, and the
 * upstream results the flow cache makes it read.
 */
import { describe, expect, it } from 'vitest';
import { skippedResult } from '@weft/shared/engine';
import { type NodeResult } from '@weft/shared/model';
import type { ConditionNode, FlowDefinition } from '@weft/shared/flow';
import { createLogger } from '@weft/shared/logging';
import { compileFlow, type CompiledFlow } from '@weft/shared/run-engine';
import { runConditionNode } from './condition.node.js';
import type { NodeRunContext } from '@weft/shared/ports';

const AT = '2025-01-01T00:00:00.000Z';
const logger = createLogger({ level: 'silent', name: 'test' });

function compile(flow: Omit<FlowDefinition, 'name'>): CompiledFlow {
  const record: Parameters<typeof compileFlow>[0] = { ...flow, name: 'f', id: 'flow', workspaceId: 'ws', version: 1, createdAt: new Date(0), updatedAt: new Date(0) };
  return compileFlow(record);
}

function completed(output: unknown): NodeResult {
  return { ...skippedResult(AT), status: 'completed', output, attempts: 1 };
}

/** The run context of the flow's condition node `c`, as the node processor builds it. */
function context(compiled: CompiledFlow, input: unknown, results: Record<string, NodeResult> = {}): NodeRunContext<ConditionNode> {
  const node = compiled.nodes.get('c') as ConditionNode;
  return { node, outEdges: compiled.outEdges.get('c') ?? [], workspaceId: 'ws', executionId: 'ex', attempt: 1, input, results, signal: new AbortController().signal, logger, emitToken: () => undefined };
}

const flow = compile({
  nodes: [
    { id: 'c', type: 'condition', expression: 'input.v' },
    { id: 'yes1', type: 'transform', expression: '1' },
    { id: 'yes2', type: 'transform', expression: '2' },
    { id: 'no', type: 'transform', expression: '3' },
  ],
  edges: [
    { from: 'c', to: 'yes1', when: true },
    { from: 'c', to: 'no', when: false },
    { from: 'c', to: 'yes2', when: true },
  ],
});

describe('condition node', () => {
  it('outputs true and takes the "when": true edges', async () => {
    const outcome = await runConditionNode(context(flow, { v: true }));
    expect(outcome).toEqual({ output: true, resolvedInput: null, usage: null, cost: null, provider: null, model: null, takenChildren: ['yes1', 'yes2'] });
  });

  it('outputs false and takes the "when": false edges', async () => {
    const outcome = await runConditionNode(context(flow, { v: false }));
    expect(outcome.output).toBe(false);
    expect(outcome.takenChildren).toEqual(['no']);
  });

  it.each([
    [0, false], [1, true], ['', false], ['no', true], [null, false], [[], false], [[0], false], [[0, 1], true],
    [{}, false], [{ a: 0 }, true], [undefined, false],
  ])('casts %j as JSONata does: %s', async (v, expected) => {
    const outcome = await runConditionNode(context(flow, v === undefined ? {} : { v }));
    expect(outcome.output).toBe(expected);
    expect(outcome.takenChildren).toEqual(expected ? ['yes1', 'yes2'] : ['no']);
  });

  it('takes nothing when no edge carries the value', async () => {
    const only = compile({
      nodes: [{ id: 'c', type: 'condition', expression: 'false' }, { id: 'a', type: 'transform', expression: '1' }],
      edges: [{ from: 'c', to: 'a', when: true }],
    });
    const outcome = await runConditionNode(context(only, {}));
    expect(outcome).toMatchObject({ output: false, takenChildren: [] });
  });

  it('sees upstream outputs as nodes.<id>, a skipped node as null, and reads every ancestor', async () => {
    const joined = compile({
      nodes: [
        { id: 'a', type: 'transform', expression: '1' },
        { id: 'b', type: 'transform', expression: '2' },
        { id: 'm', type: 'transform', expression: '3' },
        { id: 'c', type: 'condition', expression: '$exists(nodes.b) and nodes.b = null and nodes.a = "A"' },
        { id: 'x', type: 'transform', expression: '4' },
      ],
      edges: [{ from: 'a', to: 'm' }, { from: 'b', to: 'm' }, { from: 'm', to: 'c' }, { from: 'c', to: 'x', when: true }],
    });
    expect(joined.reads.get('c')?.sort()).toEqual(['a', 'b', 'm']);
    const ctx = context(joined, {}, { a: completed('A'), b: skippedResult(AT), m: completed(3) });
    expect(await runConditionNode(ctx)).toMatchObject({ output: true, takenChildren: ['x'] });
  });

  it('fails for good (TRANSFORM_FAILED) when the expression fails, naming the node', async () => {
    const bad = compile({ nodes: [{ id: 'c', type: 'condition', expression: '$number("x")' }], edges: [] });
    await expect(runConditionNode(context(bad, {}))).rejects.toMatchObject({
      code: 'TRANSFORM_FAILED',
      category: 'permanent',
      message: expect.stringContaining("expression of node 'c' failed: Unable to cast value to a number"),
    });
  });

  it('compiles the out-edges beside the nodes, leaving the flow record untouched', () => {
    expect(flow.record.nodes[0]).toEqual({ id: 'c', type: 'condition', expression: 'input.v' });
    expect(flow.nodes.get('c')).toBe(flow.record.nodes[0]);
    expect(flow.outEdges.get('c')).toEqual(flow.record.edges);
  });
});
