import Type from 'typebox';
import { checkExpression } from './expression-check.js';
import { nodeCommonProperties } from './node-common-schema.js';
import { NO_RETRY, type NodeTypeSpec } from './node-type-spec.js';

export const TransformNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('transform'),
    /** JSONata, evaluated against `{input, nodes: {<id>: output}}`. */
    expression: Type.String(),
  },
  { additionalProperties: false, title: 'TransformNode' },
);

export const transformNodeSpec: NodeTypeSpec = {
  // A JSONata expression gives the same answer every time: retrying cannot help.
  retry: NO_RETRY,
  schema: TransformNodeSchema,
  templatedFields: () => [],
  check: checkExpression,
  branching: false,
  fusable: true,
  allowsVaultRefs: false,
};
