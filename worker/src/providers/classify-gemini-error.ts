/**
 * Turns anything @google/genai throws into a classified WeftError, with the same codes as the
 * other providers (provider-error.ts holds the shared rules).
 *
 * The SDK's ApiError keeps only the status and the body (stringified into its message), not the
 * response headers, so the wait before a retry comes from the body's `google.rpc.RetryInfo`
 * detail (`retryDelay: "38s"`), which is where Gemini puts it.
 */
import { ApiError } from '@google/genai';
import type { WeftError, WeftErrorOptions } from '@weft/shared/errors';
import { classifyProviderError, codeForHttpStatus, type ClassifyErrorOptions, type MakeProviderError } from './provider-error.js';

export type ClassifyGeminiErrorOptions = ClassifyErrorOptions;

interface GoogleErrorBody {
  message: string | null;
  status: string | null;
  details: readonly unknown[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{"error": {code, message, status, details}}`, found in the SDK's message (which may have a prefix). */
export function parseGoogleErrorBody(text: string): GoogleErrorBody | null {
  const start = text.indexOf('{');
  if (start < 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start));
  } catch {
    return null;
  }
  const error = isRecord(parsed) ? parsed.error : undefined;
  if (!isRecord(error)) return null;
  return {
    message: typeof error.message === 'string' ? error.message : null,
    status: typeof error.status === 'string' ? error.status : null,
    details: Array.isArray(error.details) ? error.details : [],
  };
}

function detailOfType(body: GoogleErrorBody, type: string): Record<string, unknown> | undefined {
  return body.details.find((d): d is Record<string, unknown> => isRecord(d) && typeof d['@type'] === 'string' && d['@type'].endsWith(type));
}

/** `google.rpc.RetryInfo.retryDelay`, a protobuf Duration in JSON form ("1s", "0.250s"), in ms. */
export function retryDelayMs(body: GoogleErrorBody): number | undefined {
  const delay = detailOfType(body, 'google.rpc.RetryInfo')?.retryDelay;
  const match = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay.trim()) : null;
  return match?.[1] === undefined ? undefined : Math.round(Number(match[1]) * 1000);
}

/** Plain errors the SDK raises itself, recognised by message: reading a stream, checking the model name. */
const SDK_FAILURES: ReadonlyArray<[RegExp, 'LLM_CONNECTION' | 'LLM_INVALID_RESPONSE' | 'LLM_BAD_REQUEST', string]> = [
  [/^Incomplete JSON segment at the end/, 'LLM_CONNECTION', 'stream ended in the middle of an event'],
  [/^Response body is empty/, 'LLM_INVALID_RESPONSE', 'response has no body'],
  [/^exception parsing stream chunk/, 'LLM_INVALID_RESPONSE', 'malformed stream chunk'],
  [/^(invalid model parameter|model is required)/, 'LLM_BAD_REQUEST', 'invalid model name'],
];

function classifyGeminiSdkError(err: unknown, make: MakeProviderError): WeftError | null {
  if (err instanceof ApiError) {
    const status = err.status;
    const body = parseGoogleErrorBody(err.message);
    let code = codeForHttpStatus(status);
    // Gemini answers an invalid key with 400 INVALID_ARGUMENT; the reason says what it is.
    if (code === 'LLM_BAD_REQUEST' && body && detailOfType(body, 'google.rpc.ErrorInfo')?.reason === 'API_KEY_INVALID') code = 'LLM_AUTH';
    const extra: WeftErrorOptions = {};
    const retryAfterMs = body ? retryDelayMs(body) : undefined;
    if (retryAfterMs !== undefined) extra.retryAfterMs = retryAfterMs;
    const detail = body ? `${body.status ?? ''}${body.status && body.message ? ': ' : ''}${body.message ?? ''}` : err.message;
    return make(code, `${status} ${detail}`, extra);
  }
  if (err instanceof Error && !(err instanceof SyntaxError)) {
    for (const [pattern, code, message] of SDK_FAILURES) {
      if (pattern.test(err.message)) return make(code, message);
    }
  }
  return null;
}

export function classifyGeminiError(err: unknown, options: ClassifyGeminiErrorOptions = {}): WeftError {
  return classifyProviderError(err, { ...options, provider: options.provider ?? 'gemini', classifySdkError: classifyGeminiSdkError });
}
