import jsonata from 'jsonata';
import { WeftError } from '@weft/shared/errors';
import type { TransformNode } from '@weft/shared/flow';
import type { NodeExecutor } from './types.js';

/** Evaluates the node's JSONata expression over `{input, nodes: {<id>: output}}`. */
export const runTransformNode: NodeExecutor<TransformNode> = async (ctx) => {
  const nodes: Record<string, unknown> = {};
  for (const [id, result] of Object.entries(ctx.results)) nodes[id] = result.output;
  const data = { input: ctx.input, nodes };
  let output: unknown;
  try {
    output = await jsonata(ctx.node.expression).evaluate(data);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new WeftError('TRANSFORM_FAILED', `expression of node '${ctx.node.id}' failed: ${message}`, { cause: err });
  }
  // JSONata yields undefined for "no match"; JSON has no undefined, so store null.
  return { output: output ?? null, resolvedInput: null, usage: null, cost: null, provider: null, model: null };
};
