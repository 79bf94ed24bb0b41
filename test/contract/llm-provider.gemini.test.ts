import { describe, expect, it } from 'vitest';
import { WeftError } from '@weft/shared/errors';
import type { ChatMessage } from '@weft/shared/flow';
import { startMockLlm } from '@weft/shared/mock-llm';
import { createGeminiProvider, createProvider } from '@weft/worker/providers';
import { llmProviderContract } from './llm-provider.contract.js';
import { drain, mockLlmPerSuite, withEnv } from '../helpers/provider-test-utils.js';

const KEY = 'AIzaWeftContract0123456789abcdefghijklm';

llmProviderContract('gemini', (mock, overrides) =>
  overrides
    ? createGeminiProvider({ apiKey: overrides.apiKey ?? KEY, baseUrl: mock.url }, overrides.timeoutMs ? { timeoutMs: overrides.timeoutMs } : {})
    : createProvider('gemini', { apiKey: KEY, baseUrl: mock.url }),
);

describe('gemini adapter specifics', () => {
  const suite = mockLlmPerSuite();

  const never = (): AbortSignal => new AbortController().signal;

  it('sends systemInstruction, model turns and the generation options the request asks for', async () => {
    const provider = createProvider('gemini', { apiKey: KEY, baseUrl: suite.mock.url });
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'First question here' },
      { role: 'assistant', content: 'First answer' },
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'Second question here' },
    ];
    await provider.complete({ model: 'gemini-x', messages, temperature: 0.2, maxTokens: 64, responseFormat: 'json' }, never());
    await drain(provider.stream({ model: 'gemini-x', messages: [{ role: 'user', content: 'Stream it' }] }, never()));
    const [complete, stream] = suite.mock.requests;
    expect(complete).toMatchObject({ provider: 'gemini', path: '/v1/models/gemini-x:generateContent', model: 'gemini-x', stream: false, status: 200 });
    expect(complete?.body).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'First question here' }] },
        { role: 'model', parts: [{ text: 'First answer' }] },
        { role: 'user', parts: [{ text: 'Second question here' }] },
      ],
      systemInstruction: { parts: [{ text: 'You are terse.\n\nAnswer in French.' }] },
      generationConfig: { temperature: 0.2, maxOutputTokens: 64, responseMimeType: 'application/json' },
    });
    expect(complete?.headers['x-goog-api-key']).toBe('[redacted]');
    expect(JSON.stringify(complete)).not.toContain(KEY);
    expect(stream).toMatchObject({ path: '/v1/models/gemini-x:streamGenerateContent?alt=sse', stream: true, status: 200 });
    expect(stream?.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Stream it' }] }], generationConfig: {} });
  });

  it('takes another API version when asked', async () => {
    const provider = createGeminiProvider({ apiKey: KEY, baseUrl: suite.mock.url }, { apiVersion: 'v1beta' });
    await provider.complete({ model: 'gemini-x', messages: [{ role: 'user', content: 'hi there' }] }, never());
    expect(suite.mock.requests[0]?.path).toBe('/v1beta/models/gemini-x:generateContent');
  });

  it('GOOGLE_* / GEMINI_* environment variables cannot switch to Vertex AI, redirect the call or replace the key', async () => {
    const strict = await startMockLlm({ apiKey: KEY });
    try {
      await withEnv(
        {
          GOOGLE_GENAI_USE_VERTEXAI: 'true',
          GOOGLE_GENAI_USE_ENTERPRISE: 'true',
          GOOGLE_CLOUD_PROJECT: 'env-project',
          GOOGLE_CLOUD_LOCATION: 'us-central1',
          GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9',
          GOOGLE_VERTEX_BASE_URL: 'http://127.0.0.1:9',
          GOOGLE_GENAI_API_VERSION: 'v9',
          GEMINI_API_KEY: 'AIzaFromTheEnvironment000000000000000',
        },
        async () => {
          const provider = createProvider('gemini', { apiKey: KEY, baseUrl: strict.url });
          const res = await provider.complete({ model: 'gemini-x', messages: [{ role: 'user', content: 'Who answers?' }] }, never());
          expect(res.text).toContain('[gemini-x]');
        },
      );
      expect(strict.requests.map((r) => [r.path, r.status])).toEqual([['/v1/models/gemini-x:generateContent', 200]]);
    } finally {
      await strict.close();
    }
  });

  it('refuses to start without a key (the SDK would take one from the environment)', () => {
    expect(() => createProvider('gemini', { apiKey: '', baseUrl: null })).toThrow(expect.objectContaining({ code: 'LLM_NO_CREDENTIALS' }));
  });

  it('a refused connection → LLM_CONNECTION, transient, without the key', async () => {
    const closed = await startMockLlm();
    const url = closed.url;
    await closed.close();
    const provider = createProvider('gemini', { apiKey: KEY, baseUrl: url });
    const err = await provider.complete({ model: 'gemini-x', messages: [{ role: 'user', content: 'hi' }] }, never()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeftError);
    expect(err).toMatchObject({ code: 'LLM_CONNECTION', category: 'transient' });
    expect((err as Error).message).not.toContain(KEY);
  });
});
