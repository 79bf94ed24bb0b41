/**
 * Turns anything the openai SDK throws into a classified WeftError. The adapter is the only
 * place that knows the SDK's error classes; the engine only sees codes and categories.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ErrorCode, WeftError } from '@weft/shared/errors';
import { classifyStainlessError, type ProviderErrorReading, type StainlessErrorClasses } from './classify-stainless-error.js';
import { classifyProviderError, codeForHttpStatus, type ClassifyErrorOptions } from './provider-error.js';

export type ClassifyOpenAiErrorOptions = ClassifyErrorOptions;

const OPENAI_ERRORS: StainlessErrorClasses<APIError> = { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError };

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

function readStatusError(err: APIError, status: number): ProviderErrorReading {
  let code = codeForHttpStatus(status);
  if (code === 'LLM_BAD_REQUEST' && isContentPolicy(err)) code = 'LLM_CONTENT_POLICY';
  // Quota exhaustion is a 429 too, but waiting will not bring the credit back.
  const permanent = code === 'LLM_RATE_LIMITED' && err.code === 'insufficient_quota';
  return { code, message: err.message, extra: permanent ? { category: 'permanent' } : {} };
}

export function classifyOpenAiError(err: unknown, options: ClassifyOpenAiErrorOptions = {}): WeftError {
  const provider = options.provider ?? 'openai';
  return classifyProviderError(err, {
    ...options,
    provider,
    classifySdkError: (e, make) =>
      classifyStainlessError(e, {
        classes: OPENAI_ERRORS,
        make,
        provider,
        nowMs: options.nowMs,
        statusError: readStatusError,
        streamError: (apiError) => ({ code: codeForStreamError(apiError), message: `error in stream: ${apiError.message}` }),
      }),
  });
}
