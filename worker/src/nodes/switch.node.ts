import { switchTargets, type SwitchNode } from '@weft/shared/flow';
import { evaluateExpression } from './evaluate-expression.js';
import type { NodeExecutor } from '@weft/shared/ports';

/**
 * Evaluates the expression like a transform. Output: its value (`null` for no value). Taken:
 * the targets of the case edges whose `when` equals it (deep JSON equality), else the default
 * edge's target, else nothing (every child is then skipped).
 */
export const runSwitchNode: NodeExecutor<SwitchNode> = async (ctx) => {
  const value = (await evaluateExpression(ctx)) ?? null;
  const takenChildren = switchTargets(ctx.outEdges, value);
  ctx.logger.debug({ takenChildren }, 'switch evaluated');
  return { output: value, resolvedInput: null, usage: null, cost: null, provider: null, model: null, takenChildren };
};
