import jsonata from 'jsonata';
import { WeftError } from '@weft/shared/errors';
import type { ConditionNode, SwitchNode, TransformNode } from '@weft/shared/flow';
import type { NodeRunContext } from './types.js';

export type ExpressionNode = TransformNode | ConditionNode | SwitchNode;

/**
 * What JSONata expressions see: `{input, nodes: {<id>: output}}` (and `item`, `index` inside a
 * map's sub-graph) over the results the node
 * reads (every ancestor). A skipped node is there with output `null`, so a join after a
 * branch can pick the side that ran (`nodes.yes ? nodes.yes : nodes.no`).
 */
export function expressionData(ctx: Pick<NodeRunContext, 'input' | 'results' | 'scope'>): { input: unknown; nodes: Record<string, unknown>; item?: unknown; index?: number } {
  const nodes: Record<string, unknown> = {};
  for (const [id, result] of Object.entries(ctx.results)) nodes[id] = result.output;
  return ctx.scope ? { input: ctx.input, nodes, item: ctx.scope.item, index: ctx.scope.index } : { input: ctx.input, nodes };
}

/** jsonata throws plain objects (`{code, message, position}`), not Errors. */
export function describeJsonataError(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

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
