import jsonata from 'jsonata';
import type { ConditionNode, SwitchNode, TransformNode } from '@weft/shared/flow';
import { ExpressionCache, expressionData } from '@weft/shared/expressions';
import type { NodeRunContext } from '@weft/shared/ports';

export { describeJsonataError, expressionData } from '@weft/shared/expressions';

export type ExpressionNode = TransformNode | ConditionNode | SwitchNode;

/**
 * Evaluates the node's expression over expressionData, within the deployment's expression
 * limits (ctx.expressions). Raw: JSONata's "no value" is `undefined`. A failing expression
 * fails the node for good (TRANSFORM_FAILED, permanent): the same data would fail again; so
 * does one that hits a limit (EXPRESSION_LIMIT_EXCEEDED). The node's signal aborts it.
 */
export async function evaluateExpression(ctx: NodeRunContext<ExpressionNode>): Promise<unknown> {
  const evaluator = ctx.expressions ?? new ExpressionCache(1);
  return evaluator.evaluate({ expression: ctx.node.expression, data: expressionData(ctx), what: `expression of node '${ctx.node.id}'`, signal: ctx.signal, log: ctx.logger });
}

/** JSONata's own truthiness (`$boolean`): 0, "", null, [], {} and no value are false. */
export async function jsonataBoolean(value: unknown): Promise<boolean> {
  if (value === undefined) return false;
  return (await jsonata('$boolean($v)').evaluate(null, { v: value })) === true;
}
