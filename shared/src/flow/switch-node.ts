import Type from 'typebox';
import type { ErrorDetail } from '../errors/weft-error.js';
import { checkExpression } from './expression-check.js';
import { jsonEqual } from './json-equal.js';
import { nodeCommonProperties } from './node-common-schema.js';
import { NO_RETRY, type NodeTypeSpec, type OutEdge } from './node-type-spec.js';

/**
 * A multi-way branch: the out-edges whose `"when"` equals the expression's value (deep JSON
 * equality) are taken, or else the one labelled `"default": true`; the other children are
 * skipped.
 */
export const SwitchNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('switch'),
    /** JSONata over `{input, nodes: {<id>: output}}`; no value counts as `null`. */
    expression: Type.String(),
  },
  { additionalProperties: false, title: 'SwitchNode' },
);

const MAX_SHOWN = 60;

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

const isCase = (edge: OutEdge['edge']): boolean => Object.hasOwn(edge, 'when') && !Object.hasOwn(edge, 'default');

function edgeError(path: string, message: string): ErrorDetail[] {
  return [{ path, message, code: 'FLOW_CONDITION_EDGE' }];
}

function switchCheckOutEdge({ edge }: OutEdge, earlier: readonly OutEdge[]): ErrorDetail[] {
  const source = `switch '${String(edge.from)}'`;
  const hasWhen = Object.hasOwn(edge, 'when');
  const hasDefault = Object.hasOwn(edge, 'default');
  if (hasWhen && hasDefault) return edgeError('/default', `an edge out of ${source} is a case ("when") or the default, not both`);
  if (!hasWhen && !hasDefault) return edgeError('', `an edge out of ${source} needs "when": <value> or "default": true`);
  if (hasDefault) {
    // A non-boolean default is the edge schema's to report.
    if (edge.default === false) return edgeError('/default', `"default" must be true (a case edge of ${source} carries "when" instead)`);
    const other = earlier.find((e) => e.edge.default === true && !Object.hasOwn(e.edge, 'when'));
    return other === undefined ? [] : edgeError('/default', `${source} already has a default edge (edge #${other.index})`);
  }
  const same = earlier.find((e) => isCase(e.edge) && jsonEqual(e.edge.when, edge.when));
  return same === undefined ? [] : edgeError('/when', `case ${show(edge.when)} of ${source} is already used by edge #${same.index}`);
}

export const switchNodeSpec: NodeTypeSpec = {
  // A JSONata expression gives the same answer every time: retrying cannot help.
  retry: NO_RETRY,
  schema: SwitchNodeSchema,
  templatedFields: () => [],
  check: checkExpression,
  branching: true,
  fusable: true,
  checkOutEdge: switchCheckOutEdge,
  allowsVaultRefs: false,
};
