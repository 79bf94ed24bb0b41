import type { TransformNode } from '@weft/shared/flow';
import { evaluateExpression } from './evaluate-expression.js';
import type { NodeExecutor } from '@weft/shared/ports';

/** Evaluates the node's JSONata expression over `{input, nodes: {<id>: output}}`. */
export const runTransformNode: NodeExecutor<TransformNode> = async (ctx) => {
  const output = await evaluateExpression(ctx);
  // JSONata yields undefined for "no match"; JSON has no undefined, so store null.
  return { output: output ?? null, resolvedInput: null, usage: null, cost: null, provider: null, model: null };
};
