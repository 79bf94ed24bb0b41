/**
 * Turns anything the openai SDK throws into a classified WeftError. The adapter is the only
 * place that knows the SDK's error classes; the engine only sees codes and categories.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { WeftError, type ErrorCode, type WeftErrorOptions } from '@weft/shared/errors';
import { causeCode, classifyProviderError, codeForHttpStatus, type ClassifyErrorOptions, type MakeProviderError } from './provider-error.js';
import { parseRetryAfterMs } from './retry-after.js';

export type ClassifyOpenAiErrorOptions = ClassifyErrorOptions;

const CONTENT_POLICY_CODES = new Set(['content_filter', 'content_policy_violation']);

function isContentPolicy(err: APIError): boolean {
  return typeof err.code === 'string' && CONTENT_POLICY_CODES.has(err.code);
}

/** An error event inside a stream carries no status: go by the body's type and code. */
function codeForStreamError(err: APIError): ErrorCode {
  if (err.code === 'rate_limit_exceeded') return 'LLM_RATE_LIMITED';
  if (isContentPolicy(err)) return 'LLM_CONTENT_POLICY';
  if (err.type === 'invalid_request_error') return 'LLM_BAD_REQUEST';
  return 'LLM_SERVER_ERROR';
}

function classifyOpenAiSdkError(err: unknown, args: { make: MakeProviderError; provider: string; nowMs: number | undefined }): WeftError | null {
  const { make, provider } = args;
  if (err instanceof APIUserAbortError) return new WeftError('NODE_CANCELLED', `${provider}: request aborted`, { cause: err });
  if (err instanceof APIConnectionTimeoutError) return make('LLM_TIMEOUT', 'request timed out');
  if (err instanceof APIConnectionError) {
    const code = causeCode(err);
    return make('LLM_CONNECTION', `connection failed${code ? ` (${code})` : ''}`);
  }
  if (!(err instanceof APIError)) return null;
  const apiError = err as APIError;
  const status = apiError.status;
  if (status === undefined) return make(codeForStreamError(apiError), `error in stream: ${apiError.message}`);
  let code = codeForHttpStatus(status);
  if (code === 'LLM_BAD_REQUEST' && isContentPolicy(apiError)) code = 'LLM_CONTENT_POLICY';
  const retryAfterMs = parseRetryAfterMs(apiError.headers, args.nowMs);
  const extra: WeftErrorOptions = retryAfterMs === undefined ? {} : { retryAfterMs };
  // Quota exhaustion is a 429 too, but waiting will not bring the credit back.
  if (code === 'LLM_RATE_LIMITED' && apiError.code === 'insufficient_quota') extra.category = 'permanent';
  return make(code, apiError.message, extra);
}

export function classifyOpenAiError(err: unknown, options: ClassifyOpenAiErrorOptions = {}): WeftError {
  const provider = options.provider ?? 'openai';
  return classifyProviderError(err, {
    ...options,
    provider,
    classifySdkError: (e, make) => classifyOpenAiSdkError(e, { make, provider, nowMs: options.nowMs }),
  });
}
