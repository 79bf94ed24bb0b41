/**
 * Turns anything the @anthropic-ai/sdk throws into a classified WeftError, with the same codes
 * as the other providers (provider-error.ts holds the shared rules).
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { ErrorCode, WeftError, WeftErrorOptions } from '@weft/shared/errors';
import { classifyStainlessError, type StainlessErrorClasses } from './classify-stainless-error.js';
import { classifyProviderError, codeForHttpStatus, type ClassifyErrorOptions } from './provider-error.js';

export type ClassifyAnthropicErrorOptions = ClassifyErrorOptions;

const ANTHROPIC_ERRORS: StainlessErrorClasses<APIError> = { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError };

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

function typeOf(err: APIError): string | null {
  return typeof err.type === 'string' ? err.type : null;
}

function detailOf(err: APIError): string {
  return err.apiMessage ?? err.message;
}

export function classifyAnthropicError(err: unknown, options: ClassifyAnthropicErrorOptions = {}): WeftError {
  const provider = options.provider ?? 'anthropic';
  return classifyProviderError(err, {
    ...options,
    provider,
    classifySdkError: (e, make) =>
      classifyStainlessError(e, {
        classes: ANTHROPIC_ERRORS,
        make,
        provider,
        nowMs: options.nowMs,
        statusError: (apiError, status) => {
          const type = typeOf(apiError);
          return { ...codeFor({ status, type }), message: `${status} ${type ? `${type}: ` : ''}${detailOf(apiError)}` };
        },
        // An `event: error` inside a stream, e.g. overloaded_error after the first deltas.
        streamError: (apiError) => {
          const type = typeOf(apiError);
          return { ...codeFor({ status: (type !== null ? STATUS_OF_TYPE[type] : undefined) ?? 500, type }), message: `error in stream: ${type ?? 'unknown'}: ${detailOf(apiError)}` };
        },
      }),
  });
}
