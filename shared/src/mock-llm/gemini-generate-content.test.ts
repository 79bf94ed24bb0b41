import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockAnswer, mockJsonAnswer, mockUsage } from './answer.js';
import { MOCK_INVALID_API_KEY, startMockLlm } from './server.js';
import type { MockLlm } from './types.js';

const SYSTEM = 'You are a terse assistant.';
const CONTENTS = [
  { role: 'user', parts: [{ text: 'First question about Lisbon' }] },
  { role: 'model', parts: [{ text: 'First answer' }] },
  { role: 'user', parts: [{ text: 'Tell me about the weather ' }, { text: 'in Lisbon' }] },
];
/** CONTENTS as every protocol's conversation: system first, `model` turns as `assistant`. */
const CONVERSATION = [
  { role: 'system', content: SYSTEM },
  { role: 'user', content: 'First question about Lisbon' },
  { role: 'assistant', content: 'First answer' },
  { role: 'user', content: 'Tell me about the weather in Lisbon' },
];

interface Chunk {
  candidates: Array<{ content: { parts: Array<{ text: string }>; role: string }; finishReason?: string }>;
  usageMetadata: Record<string, unknown>;
}

describe('mock LLM server (Gemini generateContent)', () => {
  let mock: MockLlm;
  const post = (args: { model: string; method?: string; version?: string; key?: string | null; body?: Record<string, unknown> }): Promise<Response> =>
    fetch(`${mock.url}/${args.version ?? 'v1'}/models/${args.model}:${args.method ?? 'generateContent'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(args.key === null ? {} : { 'x-goog-api-key': args.key ?? 'AIza-test-secret-123' }) },
      body: JSON.stringify({ contents: CONTENTS, systemInstruction: { parts: [{ text: SYSTEM }] }, ...args.body }),
    });

  beforeAll(async () => { mock = await startMockLlm(); });
  afterAll(async () => { await mock.close(); });
  beforeEach(() => { mock.reset(); });

  it('answers with the model from the path, every usageMetadata count, and a redacted record', async () => {
    const res = await post({ model: 'gemini-test' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Chunk;
    const answer = mockAnswer('gemini-test', CONVERSATION);
    const usage = mockUsage(CONVERSATION, answer);
    expect(body.candidates[0]).toMatchObject({ content: { parts: [{ text: answer }], role: 'model' }, finishReason: 'STOP' });
    expect(body.usageMetadata).toMatchObject({
      promptTokenCount: usage.promptTokens,
      candidatesTokenCount: usage.completionTokens,
      thoughtsTokenCount: 0,
      cachedContentTokenCount: 0,
      totalTokenCount: usage.totalTokens,
    });
    const rec = mock.requests[0]!;
    expect(rec).toMatchObject({ provider: 'gemini', model: 'gemini-test', stream: false, status: 200, messages: CONVERSATION });
    expect(rec.headers['x-goog-api-key']).toBe('[redacted]');
    expect(JSON.stringify(rec)).not.toContain('AIza-test-secret-123');
  });

  it('accepts /v1beta and model names with slashes (fault tokens included)', async () => {
    expect((await post({ model: 'gemini-test', version: 'v1beta' })).status).toBe(200);
    expect((await post({ model: 'gemini-test/mock-404' })).status).toBe(404);
    expect(mock.requests.map((r) => r.model)).toEqual(['gemini-test', 'gemini-test/mock-404']);
  });

  it('streams SSE chunks whose texts join to the answer; only the last has finishReason and the final usage', async () => {
    const res = await post({ model: 'gemini-test', method: 'streamGenerateContent' });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    const chunks = text.split('\r\n\r\n').filter((f) => f !== '').map((f) => JSON.parse(f.replace(/^data: /, '')) as Chunk);
    expect(chunks.length).toBeGreaterThan(3);
    const answer = mockAnswer('gemini-test', CONVERSATION);
    const usage = mockUsage(CONVERSATION, answer);
    expect(chunks.map((c) => c.candidates[0]!.content.parts[0]!.text).join('')).toBe(answer);
    expect(chunks.slice(0, -1).every((c) => c.candidates[0]!.finishReason === undefined && c.usageMetadata.candidatesTokenCount === undefined)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ candidates: [{ finishReason: 'STOP' }], usageMetadata: { candidatesTokenCount: usage.completionTokens, totalTokenCount: usage.totalTokens } });
    expect(mock.requests[0]?.stream).toBe(true);
  });

  it('answers a JSON object when generationConfig asks for application/json', async () => {
    const res = await post({ model: 'gemini-test', body: { generationConfig: { responseMimeType: 'application/json' } } });
    const text = ((await res.json()) as Chunk).candidates[0]!.content.parts[0]!.text;
    expect(text).toBe(mockJsonAnswer('gemini-test', CONVERSATION));
  });

  it("answers errors in Google's shape: 401 with API_KEY_INVALID, 400 INVALID_ARGUMENT, 404 for other paths", async () => {
    for (const key of [null, MOCK_INVALID_API_KEY]) {
      const res = await post({ model: 'gemini-test', key });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED', details: [{ reason: 'API_KEY_INVALID' }] } });
    }
    for (const body of [{ contents: [] }, { contents: [{ role: 'tool', parts: [{ text: 'x' }] }] }, { systemInstruction: 'not a content' }]) {
      const res = await post({ model: 'gemini-test', body });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    }
    expect((await fetch(`${mock.url}/v1/models/gemini-test:countTokens`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('a rate limit carries Retry-After and a RetryInfo detail; the other faults their status names', async () => {
    const limited = await post({ model: 'mock-429' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toEqual({
      error: {
        code: 429,
        message: expect.any(String),
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }],
      },
    });
    expect((await post({ model: 'mock-429' })).status).toBe(200);
    expect(await (await post({ model: 'mock-500' })).json()).toMatchObject({ error: { code: 500, status: 'INTERNAL' } });
    expect(await (await post({ model: 'mock-404' })).json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it('mock-malformed puts a chunk that is not JSON in the stream; mock-cut drops it', async () => {
    const text = await (await post({ model: 'mock-malformed', method: 'streamGenerateContent' })).text();
    const frames = text.split('\r\n\r\n').filter((f) => f !== '');
    expect(frames.filter((f) => { try { JSON.parse(f.slice(6)); return false; } catch { return true; } })).toHaveLength(1);
    await expect((await post({ model: 'mock-cut', method: 'streamGenerateContent' })).text()).rejects.toThrow();
  });
});
