/**
 * What every request must satisfy before any schema or handler sees it: bounded nesting, bounded
 * strings, and text that Postgres can store. Postgres refuses NUL (`\u0000`) in `text` and `jsonb`,
 * and a lone UTF-16 surrogate (`\ud800`) in `jsonb`; a 10,000-deep value overflows the stack of
 * JSON.stringify and of any recursive walker. Checked once, centrally (the body parser and the
 * input-guard hook), so no route can forget it.
 */
import { textProblem } from '@weft/shared/engine';
import type { ErrorCode } from '@weft/shared/errors';

export interface JsonLimits {
  /** Deepest nesting of objects and arrays; the top-level value is depth 1. */
  maxDepth: number;
  /** Longest string or key, in UTF-16 code units (what `String.length` counts). */
  maxStringLength: number;
}

export type GuardReason = 'depth' | 'string_length' | 'invalid_text';

export interface GuardViolation {
  reason: GuardReason;
  code: Extract<ErrorCode, 'JSON_TOO_DEEP' | 'STRING_TOO_LONG' | 'INVALID_TEXT'>;
  /** JSON pointer (RFC 6901) to the offending value, or to the object holding the offending key. */
  path: string;
  message: string;
}

function escapeSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Why a string cannot be stored, or null: one definition with the engine's (storable.ts). */
export { textProblem } from '@weft/shared/engine';

function checkString(text: string, path: string, what: string, limits: JsonLimits): GuardViolation | null {
  if (text.length > limits.maxStringLength) {
    return { reason: 'string_length', code: 'STRING_TOO_LONG', path, message: `${what} is longer than ${limits.maxStringLength} characters` };
  }
  const problem = textProblem(text);
  if (problem !== null) {
    // A key's content is not echoed: the pointer to it would carry the very character refused.
    return { reason: 'invalid_text', code: 'INVALID_TEXT', path, message: `${what} ${problem}` };
  }
  return null;
}

/**
 * The first problem of a parsed JSON value, in document order, or null. Iterative (an explicit
 * stack), so no input depth can overflow the call stack; it stops at the first container deeper
 * than `maxDepth` without looking inside it.
 */
export function inspectJson(value: unknown, limits: JsonLimits): GuardViolation | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === undefined) break;
    const { path, depth } = item;
    const current = item.value;
    if (typeof current === 'string') {
      const violation = checkString(current, path, 'the string', limits);
      if (violation !== null) return violation;
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limits.maxDepth) {
      return { reason: 'depth', code: 'JSON_TOO_DEEP', path, message: `nests objects and arrays deeper than ${limits.maxDepth} levels` };
    }
    const children: Array<{ value: unknown; path: string; depth: number }> = [];
    if (Array.isArray(current)) {
      current.forEach((child: unknown, i) => children.push({ value: child, path: `${path}/${i}`, depth: depth + 1 }));
    } else {
      for (const [key, child] of Object.entries(current as Record<string, unknown>)) {
        const keyProblem = checkString(key, path, 'a property name', limits);
        if (keyProblem !== null) return keyProblem;
        children.push({ value: child, path: `${path}/${escapeSegment(key)}`, depth: depth + 1 });
      }
    }
    // Reversed, so that the stack hands them out in document order.
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i];
      if (child !== undefined) stack.push(child);
    }
  }
  return null;
}

/** The first unstorable text among flat string values (path params, query, headers), or null. */
export function inspectStrings(values: Readonly<Record<string, unknown>>): GuardViolation | null {
  for (const [name, value] of Object.entries(values)) {
    const texts = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
    const nameProblem = textProblem(name);
    if (nameProblem !== null) return { reason: 'invalid_text', code: 'INVALID_TEXT', path: '', message: `a name ${nameProblem}` };
    for (const text of texts) {
      const problem = textProblem(text);
      if (problem !== null) return { reason: 'invalid_text', code: 'INVALID_TEXT', path: `/${escapeSegment(name)}`, message: `'${name}' ${problem}` };
    }
  }
  return null;
}
