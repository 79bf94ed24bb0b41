/** What JSONata sees, and how its errors read — shared by the executors and the map's items. */
import type { NodeResult } from '../model/node-result.js';
import type { MapItemScope } from '../templates/types.js';

/**
 * What JSONata expressions see: `{input, nodes: {<id>: output}}` (and `item`, `index` inside a
 * map's sub-graph) over the results the node
 * reads (every ancestor). A skipped node is there with output `null`, so a join after a
 * branch can pick the side that ran (`nodes.yes ? nodes.yes : nodes.no`).
 */
export function expressionData(ctx: { input: unknown; results: Record<string, Pick<NodeResult, 'output'>>; scope?: MapItemScope | undefined }): { input: unknown; nodes: Record<string, unknown>; item?: unknown; index?: number } {
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
