/**
 * What Postgres can store: its text and jsonb refuse NUL (`\u0000`) and lone UTF-16 surrogates.
 * The api refuses them at its boundary (the input guard); a node's own output (an LLM answer, an
 * http response, a provider's error message) is made storable here before it is committed, so
 * that one node's bytes can never make the flusher's batch fail for every tenant. Each such
 * character becomes U+FFFD, the replacement character.
 */

/** A JSON text's escapes of NUL and of surrogates: JSON.stringify escapes a lone surrogate, and writes a pair as itself. */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/** `text` with NUL and lone surrogates replaced by U+FFFD; the same string when it has none. */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\ufffd').replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/**
 * A JSON value whose every string and key Postgres can store: `value` itself when it already is
 * (the common case costs one JSON.stringify), else a copy with NUL and lone surrogates replaced
 * by U+FFFD. Non-JSON values (undefined) are answered as they are.
 */
export function storableJson<T>(value: T): T {
  if (value === undefined || value === null) return value;
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return value;
  UNSTORABLE_ESCAPE.lastIndex = 0;
  if (!UNSTORABLE_ESCAPE.test(text)) return value;
  UNSTORABLE_ESCAPE.lastIndex = 0;
  return JSON.parse(text.replace(UNSTORABLE_ESCAPE, '$1\\ufffd')) as T;
}
