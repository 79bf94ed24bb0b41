import jsonata from 'jsonata';
import Type from 'typebox';
import type { ErrorDetail } from '../errors/weft-error.js';
import { nodeCommonProperties } from './node-common-schema.js';
import type { NodeTypeSpec } from './node-type-spec.js';

export const TransformNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('transform'),
    /** JSONata, evaluated against `{input, nodes: {<id>: output}}`. */
    expression: Type.String(),
  },
  { additionalProperties: false },
);

/** jsonata's parse errors are plain objects with a message and a character position. */
function describeJsonataError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { message, position } = err as { message?: unknown; position?: unknown };
    const text = typeof message === 'string' ? message : 'invalid expression';
    return typeof position === 'number' ? `${text} (at position ${position})` : text;
  }
  return String(err);
}

function transformCheck(node: object): ErrorDetail[] {
  const expression = (node as Record<string, unknown>).expression;
  if (typeof expression !== 'string') return [];
  try {
    jsonata(expression);
    return [];
  } catch (err) {
    return [{ path: '/expression', message: `invalid JSONata expression: ${describeJsonataError(err)}`, code: 'FLOW_INVALID_EXPRESSION' }];
  }
}

export const transformNodeSpec: NodeTypeSpec = {
  schema: TransformNodeSchema,
  templatedFields: () => [],
  check: transformCheck,
  branching: false,
  allowsVaultRefs: false,
};
