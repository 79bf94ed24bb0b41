import { describe, expect, it } from 'vitest';
import { WeftError } from '@weft/shared/errors';
import type { ChatMessage } from '@weft/shared/flow';
import { startMockLlm } from '@weft/shared/mock-llm';
import { ANTHROPIC_DEFAULT_MAX_TOKENS, ANTHROPIC_JSON_INSTRUCTION, createAnthropicProvider, createProvider } from '@weft/worker/providers';
import { llmProviderContract } from './llm-provider.contract.js';
import { drain, mockLlmPerSuite, withEnv } from '../helpers/provider-test-utils.js';

const KEY = 'sk-ant-weft-contract-0123456789';

llmProviderContract('anthropic', (mock, overrides) =>
  overrides
    ? createAnthropicProvider({ apiKey: overrides.apiKey ?? KEY, baseUrl: mock.url }, overrides.timeoutMs ? { timeoutMs: overrides.timeoutMs } : {})
    : createProvider('anthropic', { apiKey: KEY, baseUrl: mock.url }),
);

describe('anthropic adapter specifics', () => {
  const suite = mockLlmPerSuite();

  const never = (): AbortSignal => new AbortController().signal;

  it('sends system messages as the top-level system prompt and the turns as messages', async () => {
    const provider = createProvider('anthropic', { apiKey: KEY, baseUrl: suite.mock.url });
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'First question here' },
      { role: 'assistant', content: 'First answer' },
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'Second question here' },
    ];
    await provider.complete({ model: 'claude-x', messages, temperature: 0.2, maxTokens: 64 }, never());
    const rec = suite.mock.requests[0];
    expect(rec).toMatchObject({ provider: 'anthropic', path: '/v1/messages', status: 200 });
    expect(rec?.body).toEqual({
      model: 'claude-x',
      max_tokens: 64,
      system: 'You are terse.\n\nAnswer in French.',
      messages: messages.filter((m) => m.role !== 'system'),
      stream: false,
    });
    // The key travels in a credential header, recorded redacted.
    expect(rec?.headers.authorization ?? rec?.headers['x-api-key']).toBe('[redacted]');
    expect(JSON.stringify(rec)).not.toContain(KEY);
  });

  it(`defaults max_tokens to ${ANTHROPIC_DEFAULT_MAX_TOKENS}, streams with stream: true, and asks for JSON in the system prompt`, async () => {
    const provider = createProvider('anthropic', { apiKey: KEY, baseUrl: suite.mock.url });
    const messages: ChatMessage[] = [{ role: 'user', content: 'Give me a colour.' }];
    await drain(provider.stream({ model: 'claude-x', messages }, never()));
    await provider.complete({ model: 'claude-x', messages, responseFormat: 'json' }, never());
    expect(suite.mock.requests[0]?.body).toEqual({ model: 'claude-x', max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS, messages, stream: true });
    expect(suite.mock.requests[1]?.body).toMatchObject({ system: ANTHROPIC_JSON_INSTRUCTION, messages });
    const custom = createAnthropicProvider({ apiKey: KEY, baseUrl: suite.mock.url }, { defaultMaxTokens: 300 });
    await custom.complete({ model: 'claude-x', messages }, never());
    expect(suite.mock.requests[2]?.body).toMatchObject({ max_tokens: 300 });
  });

  it('ANTHROPIC_* environment variables cannot redirect the call or replace the key', async () => {
    const strict = await startMockLlm({ apiKey: KEY });
    try {
      await withEnv(
        { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9', ANTHROPIC_API_KEY: 'sk-ant-from-env-000000000', ANTHROPIC_AUTH_TOKEN: 'token-from-env', ANTHROPIC_LOG: 'debug' },
        async () => {
          const provider = createProvider('anthropic', { apiKey: KEY, baseUrl: strict.url });
          const res = await provider.complete({ model: 'claude-x', messages: [{ role: 'user', content: 'Who answers?' }] }, never());
          expect(res.text).toContain('[claude-x]');
        },
      );
      expect(strict.requests.map((r) => r.status)).toEqual([200]);
    } finally {
      await strict.close();
    }
  });

  it('refuses to start without a key', () => {
    expect(() => createProvider('anthropic', { apiKey: '', baseUrl: null })).toThrow(expect.objectContaining({ code: 'LLM_NO_CREDENTIALS' }));
  });

  it('a refused connection → LLM_CONNECTION, transient, without the key', async () => {
    const closed = await startMockLlm();
    const url = closed.url;
    await closed.close();
    const provider = createProvider('anthropic', { apiKey: KEY, baseUrl: url });
    const err = await provider.complete({ model: 'claude-x', messages: [{ role: 'user', content: 'hi' }] }, never()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeftError);
    expect(err).toMatchObject({ code: 'LLM_CONNECTION', category: 'transient' });
    expect((err as Error).message).not.toContain(KEY);
  });
});
