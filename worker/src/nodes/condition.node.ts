import { conditionTargets, type ConditionNode } from '@weft/shared/flow';
import { evaluateExpression, jsonataBoolean } from './evaluate-expression.js';
import type { NodeExecutor } from '@weft/shared/ports';

/**
 * Evaluates the expression like a transform and casts it as JSONata's `$boolean` does (so a
 * condition agrees with `?:` inside expressions: 0, "", null, [], {} and no value are false).
 * Output: the boolean. Taken: the targets of the out-edges whose `when` is that boolean.
 */
export const runConditionNode: NodeExecutor<ConditionNode> = async (ctx) => {
  const value = await jsonataBoolean(await evaluateExpression(ctx));
  const takenChildren = conditionTargets(ctx.outEdges, value);
  ctx.logger.debug({ value, takenChildren }, 'condition evaluated');
  return { output: value, resolvedInput: null, usage: null, cost: null, provider: null, model: null, takenChildren };
};
