import { jsonEqual } from './json-equal.js';
import type { FlowEdge } from './types.js';

/**
 * The children a condition node takes: the targets of its out-edges whose `when` is `value`.
 * `edges` are the node's out-edges (validated: each carries a boolean `when`).
 */
export function conditionTargets(edges: readonly FlowEdge[], value: boolean): string[] {
  return unique(edges.filter((e) => e.when === value).map((e) => e.to));
}

/**
 * The children a switch node takes: the targets of its case edges whose `when` equals `value`
 * (deep JSON equality; an absent value is `null`), else the target of its default edge, else
 * none. `edges` are the node's out-edges.
 */
export function switchTargets(edges: readonly FlowEdge[], value: unknown): string[] {
  const subject = value ?? null;
  const cases = edges.filter((e) => e.default !== true && Object.hasOwn(e, 'when') && jsonEqual(e.when, subject));
  const taken = cases.length > 0 ? cases : edges.filter((e) => e.default === true);
  return unique(taken.map((e) => e.to));
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
