import jsonata from 'jsonata';
import { mapItemsSource } from './map-node.js';
import type { MapNode } from './types.js';

/** A JSONata field of a node: where it is (relative to the node) and its source. */
export interface ExpressionField {
  pointer: string;
  expression: string;
}

const EXPRESSION_TYPES: ReadonlySet<unknown> = new Set(['transform', 'condition', 'switch']);

/**
 * The node's JSONata: a transform's, condition's or switch's `expression`, a map's `items` when
 * it is not a `{{ref}}`. Receives the raw node: a missing or mistyped field is the schema's.
 */
export function expressionFields(raw: Readonly<Record<string, unknown>>): ExpressionField[] {
  if (EXPRESSION_TYPES.has(raw.type) && typeof raw.expression === 'string') return [{ pointer: '/expression', expression: raw.expression }];
  if (raw.type === 'map' && typeof raw.items === 'string') {
    const source = mapItemsSource({ items: raw.items } as MapNode);
    return source.kind === 'jsonata' ? [{ pointer: '/items', expression: source.expression }] : [];
  }
  return [];
}

interface AstNode {
  type?: unknown;
  value?: unknown;
  steps?: unknown;
  [key: string]: unknown;
}

function isAst(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Properties evaluated against each item of a value, not against the expression's input. */
const PER_ITEM_KEYS: ReadonlySet<string> = new Set(['stages', 'predicate', 'group', 'terms']);

/**
 * `nodes.<id>` read from the document the expression sees (`{input, nodes, …}`): the second step
 * of a path whose first is the name `nodes` evaluated against that document (at the top, or in
 * operands, blocks, arguments and function bodies, not inside a later step or a filter, where
 * the context is another value), or that follows `$$` (the document, anywhere).
 */
function collect(node: unknown, atRoot: boolean, ids: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, atRoot, ids);
    return;
  }
  if (!isAst(node)) return;
  if (node.type === 'path' && Array.isArray(node.steps)) {
    const steps = node.steps as unknown[];
    const [first, second, third] = steps;
    const name = (step: unknown): string | undefined => (isAst(step) && step.type === 'name' && typeof step.value === 'string' ? step.value : undefined);
    const variable = (step: unknown): string | undefined => (isAst(step) && step.type === 'variable' && typeof step.value === 'string' ? step.value : undefined);
    if (atRoot && name(first) === 'nodes' && name(second) !== undefined) ids.add(name(second) ?? '');
    // `$$.nodes.x` anywhere; `$.nodes.x` where `$` is the document.
    const lead = variable(first);
    if ((lead === '$' || (lead === '' && atRoot)) && name(second) === 'nodes' && name(third) !== undefined) ids.add(name(third) ?? '');
    steps.forEach((step, i) => { collect(step, atRoot && i === 0, ids); });
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'steps' && node.type === 'path') continue;
    collect(value, atRoot && !PER_ITEM_KEYS.has(key), ids);
  }
}

/**
 * Ids the expression reads as `nodes.<id>` from its document, in order of first use. An
 * expression that does not parse names none (FLOW_INVALID_EXPRESSION reports it). Dynamic
 * reads (`$lookup(nodes, $k)`, `nodes.*`) cannot be checked and are not listed.
 */
export function expressionNodeRefs(expression: string): string[] {
  let ast: unknown;
  try {
    ast = jsonata(expression).ast();
  } catch {
    return [];
  }
  const ids = new Set<string>();
  collect(ast, true, ids);
  return [...ids];
}
