import { describe, expect, it } from 'vitest';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { WeftError } from '@weft/shared/errors';
import { classifyAnthropicError } from './classify-anthropic-error.js';

const KEY = 'sk-ant-api03-abcdefghijklmnop0123456789';

function httpError(status: number, type: string, headers: Record<string, string> = {}, message = `status ${status}`): APIError {
  return APIError.generate(status, { type: 'error', error: { type, message } }, undefined, new Headers(headers));
}

/** An `event: error` inside a stream: the SDK builds it without a status. */
function streamError(type: string): APIError {
  return new APIError(undefined, { type: 'error', error: { type, message: 'mid-stream' } }, undefined, new Headers(), type as never);
}

describe('classifyAnthropicError', () => {
  it.each([
    [400, 'invalid_request_error', 'LLM_BAD_REQUEST', 'permanent'],
    [401, 'authentication_error', 'LLM_AUTH', 'permanent'],
    [402, 'billing_error', 'LLM_RATE_LIMITED', 'permanent'],
    [403, 'permission_error', 'LLM_AUTH', 'permanent'],
    [404, 'not_found_error', 'LLM_MODEL_NOT_FOUND', 'permanent'],
    [413, 'request_too_large', 'LLM_BAD_REQUEST', 'permanent'],
    [429, 'rate_limit_error', 'LLM_RATE_LIMITED', 'transient'],
    [500, 'api_error', 'LLM_SERVER_ERROR', 'transient'],
    [504, 'timeout_error', 'LLM_TIMEOUT', 'transient'],
    [529, 'overloaded_error', 'LLM_SERVER_ERROR', 'transient'],
  ] as const)('HTTP %i %s → %s (%s)', (status, type, code, category) => {
    const err = classifyAnthropicError(httpError(status, type));
    expect(err).toBeInstanceOf(WeftError);
    expect({ code: err.code, category: err.category }).toEqual({ code, category });
    expect(err.message).toBe(`anthropic: ${status} ${type}: status ${status}`);
  });

  it('takes retryAfterMs from retry-after (or retry-after-ms)', () => {
    expect(classifyAnthropicError(httpError(429, 'rate_limit_error', { 'retry-after': '3' })).retryAfterMs).toBe(3000);
    expect(classifyAnthropicError(httpError(529, 'overloaded_error', { 'retry-after-ms': '250' })).retryAfterMs).toBe(250);
    expect(classifyAnthropicError(httpError(429, 'rate_limit_error')).retryAfterMs).toBeUndefined();
  });

  it('error events inside a stream go by their type', () => {
    expect(classifyAnthropicError(streamError('overloaded_error')).code).toBe('LLM_SERVER_ERROR');
    expect(classifyAnthropicError(streamError('rate_limit_error')).code).toBe('LLM_RATE_LIMITED');
    expect(classifyAnthropicError(streamError('invalid_request_error')).code).toBe('LLM_BAD_REQUEST');
    expect(classifyAnthropicError(streamError('something_new')).code).toBe('LLM_SERVER_ERROR');
  });

  it('connection, timeout, abort and malformed bodies', () => {
    expect(classifyAnthropicError(new APIConnectionTimeoutError()).code).toBe('LLM_TIMEOUT');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const conn = classifyAnthropicError(new APIConnectionError({ cause: refused }));
    expect({ code: conn.code, message: conn.message }).toEqual({ code: 'LLM_CONNECTION', message: 'anthropic: connection failed (ECONNREFUSED)' });
    expect(classifyAnthropicError(new APIUserAbortError()).code).toBe('NODE_CANCELLED');
    expect(classifyAnthropicError(new SyntaxError('Unexpected end of JSON input')).code).toBe('LLM_INVALID_RESPONSE');
    const controller = new AbortController();
    controller.abort();
    expect(classifyAnthropicError(httpError(500, 'api_error'), { signal: controller.signal }).code).toBe('NODE_CANCELLED');
  });

  it('never carries the API key in the message or the cause', () => {
    const err = classifyAnthropicError(httpError(401, 'authentication_error', {}, `invalid x-api-key ${KEY}`), { secrets: [KEY] });
    expect(err.code).toBe('LLM_AUTH');
    expect(err.message).not.toContain(KEY);
    expect((err.cause as Error).message).not.toContain(KEY);
    expect(classifyAnthropicError(httpError(401, 'authentication_error', {}, `bad ${KEY}`)).message).not.toContain(KEY);
  });
});
