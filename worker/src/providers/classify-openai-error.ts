/**
 * Turns anything the openai SDK throws into a classified WeftError. The adapter is the only
 * place that knows the SDK's error classes; the engine only sees codes and categories.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { WeftError, toWeftError, type ErrorCode, type WeftErrorOptions } from '@weft/shared/errors';
import { cancellationError } from './cancellation.js';
import { parseRetryAfterMs } from './retry-after.js';

export interface ClassifyOpenAiErrorOptions {
  /** Label at the start of messages: `openai` or `openai-compatible`. */
  provider?: string;
  /** The caller's signal: once it has aborted, any failure is the cancellation. */
  signal?: AbortSignal;
  /** Values that must never appear in a message (the API key). */
  secrets?: readonly string[];
  nowMs?: number;
}

const MAX_MESSAGE_CHARS = 500;
const CONTENT_POLICY_CODES = new Set(['content_filter', 'content_policy_violation']);
/** Error codes some Node versions and undici put on a failed socket. */
const SOCKET_ERROR_CODE = /^(UND_ERR_|ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)/;

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  out = out.replace(/\bsk-[A-Za-z0-9_-]{8,}/g, 'sk-[redacted]');
  return out.length > MAX_MESSAGE_CHARS ? `${out.slice(0, MAX_MESSAGE_CHARS)}…` : out;
}

function codeForStatus(err: APIError, status: number): ErrorCode {
  if (status === 429) return 'LLM_RATE_LIMITED';
  if (status === 408) return 'LLM_TIMEOUT';
  if (status === 401 || status === 403) return 'LLM_AUTH';
  if (status === 404) return 'LLM_MODEL_NOT_FOUND';
  // 409 is a lock timeout on OpenAI's side; the SDK itself treats it as retryable.
  if (status === 409 || status >= 500) return 'LLM_SERVER_ERROR';
  if (typeof err.code === 'string' && CONTENT_POLICY_CODES.has(err.code)) return 'LLM_CONTENT_POLICY';
  return 'LLM_BAD_REQUEST';
}

/** An error event inside a stream carries no status: go by the body's type and code. */
function codeForStreamError(err: APIError): ErrorCode {
  if (err.code === 'rate_limit_exceeded') return 'LLM_RATE_LIMITED';
  if (typeof err.code === 'string' && CONTENT_POLICY_CODES.has(err.code)) return 'LLM_CONTENT_POLICY';
  if (err.type === 'invalid_request_error') return 'LLM_BAD_REQUEST';
  return 'LLM_SERVER_ERROR';
}

function causeCode(err: Error): string | undefined {
  const cause: unknown = err.cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

export function classifyOpenAiError(err: unknown, options: ClassifyOpenAiErrorOptions = {}): WeftError {
  const provider = options.provider ?? 'openai';
  const secrets = options.secrets ?? [];
  if (err instanceof WeftError) return err;
  if (options.signal?.aborted || err instanceof APIUserAbortError) {
    return options.signal?.aborted
      ? cancellationError(options.signal, provider)
      : new WeftError('NODE_CANCELLED', `${provider}: request aborted`, { cause: err });
  }

  const make = (code: ErrorCode, message: string, extra: WeftErrorOptions = {}): WeftError => {
    const safe = scrub(message, secrets);
    const original = err instanceof Error ? err.message : String(err);
    // Keep the SDK error as the cause unless its own message carries a secret.
    const cause = scrub(original, secrets) === original ? err : new Error(scrub(original, secrets));
    return new WeftError(code, `${provider}: ${safe}`, { cause, ...extra });
  };

  if (err instanceof APIConnectionTimeoutError) return make('LLM_TIMEOUT', 'request timed out');
  if (err instanceof APIConnectionError) {
    const code = causeCode(err);
    return make('LLM_CONNECTION', `connection failed${code ? ` (${code})` : ''}`);
  }
  if (err instanceof APIError) {
    const apiError = err as APIError;
    const status = apiError.status;
    if (status === undefined) return make(codeForStreamError(apiError), `error in stream: ${err.message}`);
    const code = codeForStatus(apiError, status);
    const retryAfterMs = parseRetryAfterMs(apiError.headers, options.nowMs);
    const extra: WeftErrorOptions = retryAfterMs === undefined ? {} : { retryAfterMs };
    // Quota exhaustion is a 429 too, but waiting will not bring the credit back.
    if (code === 'LLM_RATE_LIMITED' && apiError.code === 'insufficient_quota') extra.category = 'permanent';
    return make(code, err.message, extra);
  }
  if (err instanceof SyntaxError) return make('LLM_INVALID_RESPONSE', `malformed response: ${err.message}`);
  if (err instanceof Error) {
    // Body reads that fail after the headers arrived surface as undici errors, not SDK ones.
    const code = causeCode(err) ?? (err as { code?: unknown }).code;
    if (err.message === 'terminated' || (typeof code === 'string' && SOCKET_ERROR_CODE.test(code))) {
      return make('LLM_CONNECTION', `connection lost${typeof code === 'string' ? ` (${code})` : ''}`);
    }
    if (err.name === 'AbortError' || err.name === 'TimeoutError') return make('LLM_TIMEOUT', 'request timed out');
  }
  const fallback = toWeftError(err);
  return make(fallback.code, fallback.message, { category: fallback.category });
}
