/**
 * Turns anything the @anthropic-ai/sdk throws into a classified WeftError, with the same codes
 * as the other providers (provider-error.ts holds the shared rules).
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { WeftError, type ErrorCode, type WeftErrorOptions } from '@weft/shared/errors';
import { causeCode, classifyProviderError, codeForHttpStatus, type ClassifyErrorOptions, type MakeProviderError } from './provider-error.js';
import { parseRetryAfterMs } from './retry-after.js';

export type ClassifyAnthropicErrorOptions = ClassifyErrorOptions;

/**
 * The status each of Anthropic's error types is documented with, so an error event inside a
 * stream (which has a type but no status) maps through the same table as an HTTP error.
 */
const STATUS_OF_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

function codeFor(args: { status: number; type: string | null }): { code: ErrorCode; extra: WeftErrorOptions } {
  // Waiting does not refill an empty credit balance: a permanent rate limit, like OpenAI's insufficient_quota.
  if (args.status === 402 || args.type === 'billing_error') return { code: 'LLM_RATE_LIMITED', extra: { category: 'permanent' } };
  if (args.type === 'timeout_error') return { code: 'LLM_TIMEOUT', extra: {} };
  return { code: codeForHttpStatus(args.status), extra: {} };
}

function classifyAnthropicSdkError(err: unknown, args: { make: MakeProviderError; provider: string; nowMs: number | undefined }): WeftError | null {
  const { make, provider } = args;
  if (err instanceof APIUserAbortError) return new WeftError('NODE_CANCELLED', `${provider}: request aborted`, { cause: err });
  if (err instanceof APIConnectionTimeoutError) return make('LLM_TIMEOUT', 'request timed out');
  if (err instanceof APIConnectionError) {
    const code = causeCode(err);
    return make('LLM_CONNECTION', `connection failed${code ? ` (${code})` : ''}`);
  }
  if (!(err instanceof APIError)) return null;
  const apiError = err as APIError;
  const type = typeof apiError.type === 'string' ? apiError.type : null;
  const detail = apiError.apiMessage ?? apiError.message;
  if (apiError.status === undefined) {
    // An `event: error` inside a stream, e.g. overloaded_error after the first deltas.
    const { code, extra } = codeFor({ status: (type !== null ? STATUS_OF_TYPE[type] : undefined) ?? 500, type });
    return make(code, `error in stream: ${type ?? 'unknown'}: ${detail}`, extra);
  }
  const { code, extra } = codeFor({ status: apiError.status, type });
  const retryAfterMs = parseRetryAfterMs(apiError.headers, args.nowMs);
  if (retryAfterMs !== undefined) extra.retryAfterMs = retryAfterMs;
  return make(code, `${apiError.status} ${type ? `${type}: ` : ''}${detail}`, extra);
}

export function classifyAnthropicError(err: unknown, options: ClassifyAnthropicErrorOptions = {}): WeftError {
  const provider = options.provider ?? 'anthropic';
  return classifyProviderError(err, {
    ...options,
    provider,
    classifySdkError: (e, make) => classifyAnthropicSdkError(e, { make, provider, nowMs: options.nowMs }),
  });
}
