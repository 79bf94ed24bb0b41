import { describe, expect, it } from 'vitest';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { WeftError } from '@weft/shared/errors';
import { classifyOpenAiError } from './classify-openai-error.js';

const KEY = 'sk-proj-abcdefghijklmnop0123456789';

function httpError(status: number, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): APIError {
  return APIError.generate(status, { error: { message: `status ${status}`, ...body } }, undefined, new Headers(headers));
}

describe('classifyOpenAiError', () => {
  it.each([
    [400, 'LLM_BAD_REQUEST', 'permanent'],
    [401, 'LLM_AUTH', 'permanent'],
    [403, 'LLM_AUTH', 'permanent'],
    [404, 'LLM_MODEL_NOT_FOUND', 'permanent'],
    [408, 'LLM_TIMEOUT', 'transient'],
    [409, 'LLM_SERVER_ERROR', 'transient'],
    [413, 'LLM_BAD_REQUEST', 'permanent'],
    [422, 'LLM_BAD_REQUEST', 'permanent'],
    [429, 'LLM_RATE_LIMITED', 'transient'],
    [500, 'LLM_SERVER_ERROR', 'transient'],
    [502, 'LLM_SERVER_ERROR', 'transient'],
    [503, 'LLM_SERVER_ERROR', 'transient'],
  ] as const)('HTTP %i → %s (%s)', (status, code, category) => {
    const err = classifyOpenAiError(httpError(status));
    expect(err).toBeInstanceOf(WeftError);
    expect({ code: err.code, category: err.category }).toEqual({ code, category });
  });

  it('takes retryAfterMs from the headers of a 429 or 503', () => {
    expect(classifyOpenAiError(httpError(429, {}, { 'retry-after': '1' })).retryAfterMs).toBe(1000);
    expect(classifyOpenAiError(httpError(429, {}, { 'retry-after-ms': '250' })).retryAfterMs).toBe(250);
    expect(classifyOpenAiError(httpError(503, {}, { 'retry-after': '2' })).retryAfterMs).toBe(2000);
    expect(classifyOpenAiError(httpError(429)).retryAfterMs).toBeUndefined();
  });

  it('an exhausted quota is a permanent rate limit', () => {
    const err = classifyOpenAiError(httpError(429, { code: 'insufficient_quota', type: 'insufficient_quota' }));
    expect({ code: err.code, category: err.category }).toEqual({ code: 'LLM_RATE_LIMITED', category: 'permanent' });
  });

  it('a content-filter 400 is LLM_CONTENT_POLICY', () => {
    expect(classifyOpenAiError(httpError(400, { code: 'content_policy_violation' })).code).toBe('LLM_CONTENT_POLICY');
  });

  it('connection, timeout and abort errors', () => {
    expect(classifyOpenAiError(new APIConnectionTimeoutError()).code).toBe('LLM_TIMEOUT');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const conn = classifyOpenAiError(new APIConnectionError({ cause: refused }));
    expect(conn.code).toBe('LLM_CONNECTION');
    expect(conn.message).toContain('ECONNREFUSED');
    expect(classifyOpenAiError(new APIUserAbortError()).code).toBe('NODE_CANCELLED');
    const cut = new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(classifyOpenAiError(cut).code).toBe('LLM_CONNECTION');
  });

  it('an aborted signal wins over whatever the SDK threw, and keeps a WeftError reason', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyOpenAiError(httpError(500), { signal: controller.signal }).code).toBe('NODE_CANCELLED');
    const timedOut = new AbortController();
    const reason = new WeftError('NODE_TIMEOUT', 'node timed out');
    timedOut.abort(reason);
    expect(classifyOpenAiError(new APIUserAbortError(), { signal: timedOut.signal })).toBe(reason);
  });

  it('malformed bodies and in-stream error events', () => {
    expect(classifyOpenAiError(new SyntaxError('Unexpected end of JSON input')).code).toBe('LLM_INVALID_RESPONSE');
    expect(classifyOpenAiError(new APIError(undefined, { type: 'server_error', message: 'boom' }, undefined, undefined)).code).toBe('LLM_SERVER_ERROR');
    expect(classifyOpenAiError(new APIError(undefined, { code: 'rate_limit_exceeded', message: 'slow down' }, undefined, undefined)).code).toBe('LLM_RATE_LIMITED');
  });

  it('never carries the API key in the message or the cause', () => {
    const leaky = httpError(401, { message: `Incorrect API key provided: ${KEY}` });
    const err = classifyOpenAiError(leaky, { secrets: [KEY] });
    expect(err.code).toBe('LLM_AUTH');
    expect(err.message).not.toContain(KEY);
    expect(err.message).toContain('[redacted]');
    expect((err.cause as Error).message).not.toContain(KEY);
    // Keys that look like OpenAI keys are scrubbed even when the caller did not list them.
    expect(classifyOpenAiError(httpError(401, { message: `bad key ${KEY}` })).message).not.toContain(KEY);
  });

  it('passes WeftErrors through and turns unknown errors into a labelled transient error', () => {
    const weft = new WeftError('LLM_AUTH', 'x');
    expect(classifyOpenAiError(weft)).toBe(weft);
    const unknown = classifyOpenAiError(new Error('something odd'), { provider: 'openai-compatible' });
    expect({ code: unknown.code, category: unknown.category }).toEqual({ code: 'INTERNAL_ERROR', category: 'transient' });
    expect(unknown.message).toBe('openai-compatible: something odd');
  });
});
