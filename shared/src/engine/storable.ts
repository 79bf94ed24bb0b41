/**
 * What Postgres can store: its text and jsonb refuse NUL (`\u0000`) and lone UTF-16 surrogates.
 * The api refuses them at its boundary (the input guard); a node's own output (an LLM answer, an
 * http response, a provider's error message) is made storable here before it is committed, so
 * that one node's bytes can never make the flusher's batch fail for every tenant. Each such
 * character becomes U+FFFD, the replacement character.
 */

/** A JSON text's escapes of NUL and of surrogates: JSON.stringify escapes a lone surrogate, and writes a pair as itself. */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/** ES2024's String.prototype.isWellFormed and toWellFormed (Node ≥ 20); the project's lib is ES2023. */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * Why a string cannot be stored, or null (the api's input guard refuses such text with it).
 * `isWellFormed` is false exactly when the string holds a lone surrogate; NUL is valid Unicode
 * that Postgres still refuses.
 */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000)';
  if (!(text as unknown as WellFormedString).isWellFormed()) return 'contains a lone UTF-16 surrogate';
  return null;
}

/** `text` with NUL and lone surrogates replaced by U+FFFD (what toWellFormed does for the latter). */
export function storableText(text: string): string {
  return (text as unknown as WellFormedString).toWellFormed().replaceAll('\u0000', '\ufffd');
}

/**
 * A JSON value whose every string and key Postgres can store: `value` itself when it already is
 * (the common case costs one JSON.stringify), else a copy with NUL and lone surrogates replaced
 * by U+FFFD. Non-JSON values (undefined) are answered as they are.
 */
export function storableJson<T>(value: T): T {
  return storableJsonText(value).value;
}

/**
 * storableJson, with the JSON text of the value it answers (undefined for a non-JSON value), so
 * that a caller that needs the text (the claim check measures it) does not stringify twice.
 */
export function storableJsonText<T>(value: T): { value: T; text: string | undefined } {
  if (value === undefined) return { value, text: undefined };
  if (value === null) return { value, text: 'null' };
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return { value, text };
  UNSTORABLE_ESCAPE.lastIndex = 0;
  if (!UNSTORABLE_ESCAPE.test(text)) return { value, text };
  UNSTORABLE_ESCAPE.lastIndex = 0;
  const fixed = text.replace(UNSTORABLE_ESCAPE, '$1\\ufffd');
  return { value: JSON.parse(fixed) as T, text: fixed };
}
