import Type from 'typebox';
import type { ErrorDetail } from '../errors/weft-error.js';
import { checkExpression } from './expression-check.js';
import { nodeCommonProperties } from './node-common-schema.js';
import { NO_RETRY, type NodeTypeSpec, type OutEdge } from './node-type-spec.js';

/**
 * A two-way branch: the expression's truthiness picks the out-edges labelled `"when": true` or
 * `"when": false`; the children of the others are skipped.
 */
export const ConditionNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('condition'),
    /** JSONata over `{input, nodes: {<id>: output}}`; its value is cast as JSONata's `$boolean` does. */
    expression: Type.String(),
  },
  { additionalProperties: false, title: 'ConditionNode' },
);

function conditionCheckOutEdge({ edge }: OutEdge): ErrorDetail[] {
  const source = `condition '${String(edge.from)}'`;
  if (Object.hasOwn(edge, 'default')) {
    return [{ path: '/default', message: `edges out of ${source} take "when": true or "when": false, not "default"`, code: 'FLOW_CONDITION_EDGE' }];
  }
  if (!Object.hasOwn(edge, 'when')) {
    return [{ path: '', message: `an edge out of ${source} needs "when": true or "when": false`, code: 'FLOW_CONDITION_EDGE' }];
  }
  if (typeof edge.when !== 'boolean') {
    return [{ path: '/when', message: `an edge out of ${source} needs "when": true or "when": false, not ${JSON.stringify(edge.when)}`, code: 'FLOW_CONDITION_EDGE' }];
  }
  return [];
}

export const conditionNodeSpec: NodeTypeSpec = {
  // A JSONata expression gives the same answer every time: retrying cannot help.
  retry: NO_RETRY,
  schema: ConditionNodeSchema,
  templatedFields: () => [],
  check: checkExpression,
  branching: true,
  fusable: true,
  checkOutEdge: conditionCheckOutEdge,
  allowsVaultRefs: false,
};
