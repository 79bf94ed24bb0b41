import { describe, expect, it } from 'vitest';
import { WeftError } from '@weft/shared/errors';
import { startMockLlm } from '@weft/shared/mock-llm';
import { mockLlmPerSuite } from '../helpers/provider-test-utils.js';
import { createOpenAiProvider, createProvider } from '@weft/worker/providers';
import { llmProviderContract } from './llm-provider.contract.js';

const KEY = 'sk-weft-contract-0123456789';

llmProviderContract('openai', (mock, overrides) =>
  overrides
    ? createOpenAiProvider({ apiKey: overrides.apiKey ?? KEY, baseUrl: `${mock.url}/v1` }, { name: 'openai', ...(overrides.timeoutMs ? { timeoutMs: overrides.timeoutMs } : {}) })
    : createProvider('openai', { apiKey: KEY, baseUrl: `${mock.url}/v1` }),
);

llmProviderContract('openai-compatible', (mock, overrides) =>
  overrides
    ? createOpenAiProvider(
        { apiKey: overrides.apiKey ?? KEY, baseUrl: `${mock.url}/v1` },
        { name: 'openai-compatible', ...(overrides.timeoutMs ? { timeoutMs: overrides.timeoutMs } : {}) },
      )
    : createProvider('openai-compatible', { apiKey: KEY, baseUrl: `${mock.url}/v1` }),
);

describe('openai adapter specifics', () => {
  const suite = mockLlmPerSuite();

  const messages = [{ role: 'user' as const, content: 'What is the boiling point of water?' }];

  it('sends the OpenAI wire options the request asks for', async () => {
    const openai = createProvider('openai', { apiKey: KEY, baseUrl: `${suite.mock.url}/v1` });
    expect(openai.name).toBe('openai');
    await openai.complete({ model: 'gpt-x', messages, temperature: 0.2, maxTokens: 64, responseFormat: 'json' }, new AbortController().signal);
    for await (const _ of openai.stream({ model: 'gpt-x', messages }, new AbortController().signal)) { /* drain */ }
    const [complete, stream] = suite.mock.requests;
    expect(complete?.path).toBe('/v1/chat/completions');
    expect(complete?.body).toMatchObject({ model: 'gpt-x', messages, temperature: 0.2, max_completion_tokens: 64, response_format: { type: 'json_object' } });
    expect(complete?.headers.authorization).toBe('[redacted]');
    expect(stream?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(stream?.body).not.toHaveProperty('response_format');
  });

  it('openai-compatible sends max_tokens, which such servers understand', async () => {
    const compatible = createProvider('openai-compatible', { apiKey: KEY, baseUrl: `${suite.mock.url}/v1` });
    expect(compatible.name).toBe('openai-compatible');
    await compatible.complete({ model: 'llama', messages, maxTokens: 32 }, new AbortController().signal);
    expect(suite.mock.requests[0]?.body).toMatchObject({ max_tokens: 32 });
    expect(suite.mock.requests[0]?.body).not.toHaveProperty('max_completion_tokens');
  });

  it('openai-compatible works without a key (local servers), openai refuses to start without one', async () => {
    const keyless = createProvider('openai-compatible', { apiKey: '', baseUrl: `${suite.mock.url}/v1` });
    await expect(keyless.complete({ model: 'llama', messages }, new AbortController().signal)).resolves.toMatchObject({ text: expect.any(String) });
    expect(() => createProvider('openai', { apiKey: '', baseUrl: null })).toThrow(expect.objectContaining({ code: 'LLM_NO_CREDENTIALS' }));
  });

  it('a refused connection → LLM_CONNECTION, transient', async () => {
    const closed = await startMockLlm();
    const url = closed.url;
    await closed.close();
    const provider = createProvider('openai', { apiKey: KEY, baseUrl: `${url}/v1` });
    const err = await provider.complete({ model: 'gpt-x', messages }, new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeftError);
    expect(err).toMatchObject({ code: 'LLM_CONNECTION', category: 'transient' });
    expect((err as Error).message).not.toContain(KEY);
  });

  it('createProvider builds every provider under its own name and refuses unknown names', () => {
    for (const name of ['openai', 'openai-compatible', 'anthropic', 'gemini'] as const) {
      expect(createProvider(name, { apiKey: KEY, baseUrl: suite.mock.url }).name).toBe(name);
    }
    expect(() => createProvider('nope' as never, { apiKey: KEY, baseUrl: null })).toThrow(expect.objectContaining({ code: 'LLM_UNKNOWN_PROVIDER' }));
  });
});
