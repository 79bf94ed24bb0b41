import { describe, expect, it } from 'vitest';
import { WeftError } from '@weft/shared/errors';
import { classifyProviderError, codeForHttpStatus, redactSecrets } from './provider-error.js';

describe('codeForHttpStatus', () => {
  it.each([
    [400, 'LLM_BAD_REQUEST'],
    [401, 'LLM_AUTH'],
    [402, 'LLM_BAD_REQUEST'],
    [403, 'LLM_AUTH'],
    [404, 'LLM_MODEL_NOT_FOUND'],
    [408, 'LLM_TIMEOUT'],
    [409, 'LLM_SERVER_ERROR'],
    [413, 'LLM_BAD_REQUEST'],
    [422, 'LLM_BAD_REQUEST'],
    [429, 'LLM_RATE_LIMITED'],
    [500, 'LLM_SERVER_ERROR'],
    [503, 'LLM_SERVER_ERROR'],
    [504, 'LLM_SERVER_ERROR'],
    [529, 'LLM_SERVER_ERROR'],
  ] as const)('%i → %s', (status, code) => {
    expect(codeForHttpStatus(status)).toBe(code);
  });
});

describe('redactSecrets', () => {
  it('replaces listed secrets and anything shaped like an OpenAI, Anthropic or Google key', () => {
    expect(redactSecrets('key my-own-secret-value here', ['my-own-secret-value'])).toBe('key [redacted] here');
    expect(redactSecrets('bad sk-ant-api03-abcdefghijkl', [])).toBe('bad sk-[redacted]');
    expect(redactSecrets('bad AIzaSyA1234567890abcdefghijklmnopqrstu', [])).toBe('bad AIza[redacted]');
    // Too short to be a key: replacing it would mangle ordinary words.
    expect(redactSecrets('abc', ['abc'])).toBe('abc');
  });

  it('replaces a masked echo of a key of any shape, down to pieces shorter than 8 characters', () => {
    // Not shaped like any known key, so only the listed secret can catch it.
    const key = 'gsk_live_9c4e1b7a2f6d3e8c0b5a';
    const masked = `${key.slice(0, 14)}****${key.slice(-4)}`;
    expect(redactSecrets(`Incorrect API key provided: ${masked}`, [key])).toBe('Incorrect API key provided: [redacted]****0b5a');
    expect(redactSecrets(`key=${encodeURIComponent(key)} b64=${Buffer.from(key).toString('base64')}`, [key])).toBe('key=[redacted] b64=[redacted]');
  });
});

describe('classifyProviderError', () => {
  const base = { provider: 'test', classifySdkError: () => null };

  it('lets the SDK classifier decide first, then the transport rules, then labels the rest', () => {
    const sdk = classifyProviderError(new Error('x'), { ...base, classifySdkError: (_e, make) => make('LLM_AUTH', 'nope') });
    expect({ code: sdk.code, message: sdk.message }).toEqual({ code: 'LLM_AUTH', message: 'test: nope' });
    expect(classifyProviderError(new SyntaxError('Unexpected token'), base).code).toBe('LLM_INVALID_RESPONSE');
    const cut = new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(classifyProviderError(cut, base).code).toBe('LLM_CONNECTION');
    expect(classifyProviderError(new DOMException('The operation was aborted.', 'AbortError'), base).code).toBe('LLM_TIMEOUT');
    const odd = classifyProviderError(new Error('something odd'), base);
    expect({ code: odd.code, category: odd.category, message: odd.message }).toEqual({ code: 'INTERNAL_ERROR', category: 'transient', message: 'test: something odd' });
  });

  it('an aborted signal wins, a WeftError passes through', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyProviderError(new SyntaxError('x'), { ...base, signal: controller.signal }).code).toBe('NODE_CANCELLED');
    const weft = new WeftError('LLM_AUTH', 'x');
    expect(classifyProviderError(weft, base)).toBe(weft);
  });

  it('never keeps a secret in the message or the cause, and caps long messages', () => {
    const secret = 'super-secret-key-123';
    const err = classifyProviderError(new Error(`boom ${secret}`), { ...base, secrets: [secret] });
    expect(err.message).not.toContain(secret);
    expect((err.cause as Error).message).not.toContain(secret);
    const long = classifyProviderError(new Error('x'.repeat(2000)), base);
    expect(long.message.length).toBeLessThan(520);
    // A masked echo in the SDK's message: the cause is replaced, redacted and capped too.
    const masked = classifyProviderError(new Error(`bad key ${secret.slice(0, 12)}****${'y'.repeat(5000)}`), { ...base, secrets: [secret] });
    expect(masked.message).not.toContain(secret.slice(0, 8));
    expect((masked.cause as Error).message).not.toContain(secret.slice(0, 8));
    expect((masked.cause as Error).message.length).toBeLessThan(520);
  });
});
