import { describe, expect, it } from 'vitest';
import { ApiError } from '@google/genai';
import { WeftError } from '@weft/shared/errors';
import { classifyGeminiError, parseGoogleErrorBody, retryDelayMs } from './classify-gemini-error.js';

const KEY = 'AIzaSyA1234567890abcdefghijklmnopqrstu';

/** What the SDK throws for an HTTP error: the body, stringified, as the message. */
function apiError(status: number, error: Record<string, unknown>): ApiError {
  return new ApiError({ status, message: JSON.stringify({ error: { code: status, ...error } }) });
}

describe('classifyGeminiError', () => {
  it.each([
    [400, 'INVALID_ARGUMENT', 'LLM_BAD_REQUEST', 'permanent'],
    [401, 'UNAUTHENTICATED', 'LLM_AUTH', 'permanent'],
    [403, 'PERMISSION_DENIED', 'LLM_AUTH', 'permanent'],
    [404, 'NOT_FOUND', 'LLM_MODEL_NOT_FOUND', 'permanent'],
    [429, 'RESOURCE_EXHAUSTED', 'LLM_RATE_LIMITED', 'transient'],
    [500, 'INTERNAL', 'LLM_SERVER_ERROR', 'transient'],
    [503, 'UNAVAILABLE', 'LLM_SERVER_ERROR', 'transient'],
    [504, 'DEADLINE_EXCEEDED', 'LLM_SERVER_ERROR', 'transient'],
  ] as const)('HTTP %i %s → %s (%s)', (status, name, code, category) => {
    const err = classifyGeminiError(apiError(status, { status: name, message: 'why' }));
    expect(err).toBeInstanceOf(WeftError);
    expect({ code: err.code, category: err.category, message: err.message }).toEqual({ code, category, message: `gemini: ${status} ${name}: why` });
  });

  it("an invalid key, which Gemini answers with 400, is LLM_AUTH", () => {
    const err = classifyGeminiError(apiError(400, {
      status: 'INVALID_ARGUMENT',
      message: 'API key not valid. Please pass a valid API key.',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
    }));
    expect(err.code).toBe('LLM_AUTH');
  });

  it('takes retryAfterMs from the RetryInfo detail', () => {
    const limited = (retryDelay: string): ApiError => apiError(429, {
      status: 'RESOURCE_EXHAUSTED',
      message: 'quota',
      details: [{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure' }, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }],
    });
    expect(classifyGeminiError(limited('38s')).retryAfterMs).toBe(38_000);
    expect(classifyGeminiError(limited('0.250s')).retryAfterMs).toBe(250);
    expect(classifyGeminiError(limited('soon')).retryAfterMs).toBeUndefined();
    expect(classifyGeminiError(apiError(429, { status: 'RESOURCE_EXHAUSTED' })).retryAfterMs).toBeUndefined();
  });

  it('reads error chunks inside a stream and non-JSON error bodies', () => {
    const inStream = new ApiError({ status: 503, message: `got status: UNAVAILABLE. ${JSON.stringify({ error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } })}` });
    expect(classifyGeminiError(inStream)).toMatchObject({ code: 'LLM_SERVER_ERROR', message: 'gemini: 503 UNAVAILABLE: overloaded' });
    expect(classifyGeminiError(new ApiError({ status: 502, message: 'Bad Gateway' })).message).toBe('gemini: 502 Bad Gateway');
    expect(parseGoogleErrorBody('no json here')).toBeNull();
    expect(retryDelayMs({ message: null, status: null, details: [] })).toBeUndefined();
  });

  it('stream failures the SDK reports by message, malformed bodies, sockets and aborts', () => {
    expect(classifyGeminiError(new Error('Incomplete JSON segment at the end')).code).toBe('LLM_CONNECTION');
    expect(classifyGeminiError(new Error('Response body is empty')).code).toBe('LLM_INVALID_RESPONSE');
    expect(classifyGeminiError(new Error('invalid model parameter')).code).toBe('LLM_BAD_REQUEST');
    expect(classifyGeminiError(new SyntaxError('Unexpected end of JSON input')).code).toBe('LLM_INVALID_RESPONSE');
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(classifyGeminiError(refused).code).toBe('LLM_CONNECTION');
    const controller = new AbortController();
    controller.abort();
    expect(classifyGeminiError(new DOMException('aborted', 'AbortError'), { signal: controller.signal }).code).toBe('NODE_CANCELLED');
  });

  it('never carries the API key in the message or the cause', () => {
    const err = classifyGeminiError(apiError(400, { status: 'INVALID_ARGUMENT', message: `bad key ${KEY}` }), { secrets: [KEY] });
    expect(err.message).not.toContain(KEY);
    expect((err.cause as Error).message).not.toContain(KEY);
    expect(classifyGeminiError(new Error(`odd ${KEY}`)).message).not.toContain(KEY);
  });
});
