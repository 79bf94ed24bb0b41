import jsonata from 'jsonata';
import type { ErrorDetail } from '../errors/weft-error.js';

/** jsonata's parse errors are plain objects with a message and a character position. */
function describeJsonataError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { message, position } = err as { message?: unknown; position?: unknown };
    const text = typeof message === 'string' ? message : 'invalid expression';
    return typeof position === 'number' ? `${text} (at position ${position})` : text;
  }
  return String(err);
}

/** Parses `expression` as JSONata; a parse error is reported at `path` (relative to the node). */
export function checkJsonata(expression: string, path: string): ErrorDetail[] {
  try {
    jsonata(expression);
    return [];
  } catch (err) {
    return [{ path, message: `invalid JSONata expression: ${describeJsonataError(err)}`, code: 'FLOW_INVALID_EXPRESSION' }];
  }
}

/**
 * Parses the node's `expression` as JSONata (transform, condition and switch nodes). Receives
 * the raw node: a missing or non-string expression is left to the schema.
 */
export function checkExpression(node: object): ErrorDetail[] {
  const expression = (node as Record<string, unknown>).expression;
  return typeof expression === 'string' ? checkJsonata(expression, '/expression') : [];
}
