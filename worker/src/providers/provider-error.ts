/**
 * What every provider's error classifier shares: the HTTP status → code mapping, secret
 * redaction, the cancellation rule, and the transport failures that surface from fetch rather
 * than from an SDK (malformed bodies, dropped sockets, fetch timeouts). Each SDK's classifier
 * only recognises its own error classes and hands the rest to `classifyProviderError`.
 */
import { WeftError, toWeftError, type ErrorCode, type WeftErrorOptions } from '@weft/shared/errors';
import { SecretRedactor } from '../nodes/redact-secrets.js';
import { cancellationError } from './cancellation.js';

export interface ClassifyErrorOptions {
  /** Label at the start of messages (`openai`, `openai-compatible`, `anthropic`, `gemini`). */
  provider?: string;
  /** The caller's signal: once it has aborted, any failure is the cancellation. */
  signal?: AbortSignal;
  /** Values that must never appear in a message, whole, encoded or in pieces of 8+ characters (the API key). */
  secrets?: readonly string[];
  nowMs?: number;
}

/** Builds the classified error; its message and cause never carry a secret. */
export type MakeProviderError = (code: ErrorCode, message: string, extra?: WeftErrorOptions) => WeftError;

/** Recognises one SDK's own errors; null hands the error to the shared rules. */
export type ClassifySdkError = (err: unknown, make: MakeProviderError) => WeftError | null;

/** Cap on the provider's own text in a message: a target's body never rides in an error wholesale. */
export const MAX_PROVIDER_MESSAGE_CHARS = 500;
/** Key shapes scrubbed even when the caller did not list them: OpenAI and Anthropic (`sk-…`), Google (`AIza…`). */
const KEY_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\bsk-[A-Za-z0-9_-]{8,}/g, 'sk-[redacted]'],
  [/\bAIza[A-Za-z0-9_-]{20,}/g, 'AIza[redacted]'],
];
/** Error codes some Node versions and undici put on a failed socket. */
const SOCKET_ERROR_CODE = /^(UND_ERR_|ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)/;

/** The redactor of a provider's messages: listed secrets of 4+ characters, whole, encoded or in pieces. */
export function providerSecretRedactor(secrets: readonly string[]): SecretRedactor {
  return new SecretRedactor(secrets, { marker: '[redacted]', minLength: 4 });
}

function redactWith(text: string, redactor: SecretRedactor): string {
  let out = redactor.text(text);
  for (const [pattern, replacement] of KEY_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * Replaces every listed secret (4+ characters), every piece of 8+ characters of one or of its
 * URL-encoded, JSON-escaped or base64 forms, and anything shaped like a provider key.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return redactWith(text, providerSecretRedactor(secrets));
}

function truncate(text: string): string {
  return text.length > MAX_PROVIDER_MESSAGE_CHARS ? `${text.slice(0, MAX_PROVIDER_MESSAGE_CHARS)}…` : text;
}

/**
 * The one HTTP status → code mapping of every provider. 409 is a lock timeout at OpenAI (its
 * SDK retries it); 529 is Anthropic's "overloaded". Callers refine it with what the body says
 * (content policy, exhausted quota, an invalid key answered with 400).
 */
export function codeForHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
    case 403:
      return 'LLM_AUTH';
    case 404:
      return 'LLM_MODEL_NOT_FOUND';
    case 408:
      return 'LLM_TIMEOUT';
    case 409:
    case 529:
      return 'LLM_SERVER_ERROR';
    case 429:
      return 'LLM_RATE_LIMITED';
    default:
      return status >= 500 ? 'LLM_SERVER_ERROR' : 'LLM_BAD_REQUEST';
  }
}

/** The `code` of an error's cause (undici and Node put the socket error there). */
export function causeCode(err: Error): string | undefined {
  const cause: unknown = err.cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function transportError(err: unknown, make: MakeProviderError): WeftError | null {
  if (err instanceof SyntaxError) return make('LLM_INVALID_RESPONSE', `malformed response: ${err.message}`);
  if (!(err instanceof Error)) return null;
  // Body reads that fail after the headers arrived surface as undici errors, not SDK ones.
  const code = causeCode(err) ?? (err as { code?: unknown }).code;
  if (err.message === 'terminated' || (typeof code === 'string' && SOCKET_ERROR_CODE.test(code))) {
    return make('LLM_CONNECTION', `connection lost${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return make('LLM_TIMEOUT', 'request timed out');
  return null;
}

/**
 * Turns anything an adapter caught into a classified WeftError: a WeftError passes through, an
 * aborted signal wins over whatever the SDK threw, then the SDK's own classes, then transport
 * failures; anything else is a labelled transient INTERNAL_ERROR.
 */
export function classifyProviderError(err: unknown, context: ClassifyErrorOptions & { provider: string; classifySdkError: ClassifySdkError }): WeftError {
  const { provider, signal } = context;
  if (err instanceof WeftError) return err;
  if (signal?.aborted) return cancellationError(signal, provider);
  const redactor = providerSecretRedactor(context.secrets ?? []);

  const make: MakeProviderError = (code, message, extra = {}) => {
    const original = err instanceof Error ? err.message : String(err);
    const safeOriginal = redactWith(original, redactor);
    // Keep the SDK error as the cause unless its own message carries a secret (or a piece of one).
    const cause = safeOriginal === original ? err : new Error(truncate(safeOriginal));
    // Redacted before it is cut: a cut cannot leave a piece of a secret too short to recognise.
    return new WeftError(code, `${provider}: ${truncate(redactWith(message, redactor))}`, { cause, ...extra });
  };

  const classified = context.classifySdkError(err, make) ?? transportError(err, make);
  if (classified) return classified;
  const fallback = toWeftError(err);
  return make(fallback.code, fallback.message, { category: fallback.category });
}
