import jsonata from 'jsonata';
import { WeftError } from '@weft/shared/errors';
import type { ConditionNode, SwitchNode, TransformNode } from '@weft/shared/flow';
import { describeJsonataError, expressionData } from '@weft/shared/expressions';
import type { NodeRunContext } from '@weft/shared/ports';

export { describeJsonataError, expressionData } from '@weft/shared/expressions';

export type ExpressionNode = TransformNode | ConditionNode | SwitchNode;

/**
 * Evaluates the node's expression over expressionData. Raw: JSONata's "no value" is
 * `undefined`. A failing expression fails the node for good (TRANSFORM_FAILED, permanent):
 * the same data would fail again.
 */
export async function evaluateExpression(ctx: NodeRunContext<ExpressionNode>): Promise<unknown> {
  try {
    const expression = ctx.expressions ? ctx.expressions.compile(ctx.node.expression) : jsonata(ctx.node.expression);
    return (await expression.evaluate(expressionData(ctx))) as unknown;
  } catch (err) {
    throw new WeftError('TRANSFORM_FAILED', `expression of node '${ctx.node.id}' failed: ${describeJsonataError(err)}`, { cause: err });
  }
}

/** JSONata's own truthiness (`$boolean`): 0, "", null, [], {} and no value are false. */
export async function jsonataBoolean(value: unknown): Promise<boolean> {
  if (value === undefined) return false;
  return (await jsonata('$boolean($v)').evaluate(null, { v: value })) === true;
}
