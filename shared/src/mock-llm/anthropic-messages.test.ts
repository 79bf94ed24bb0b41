import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockAnswer, mockJsonAnswer, mockUsage } from './answer.js';
import { MOCK_INVALID_API_KEY, startMockLlm } from './server.js';
import type { MockLlm } from './types.js';

interface SseEvent {
  event: string | null;
  data: unknown;
}

/** Splits an SSE body into named events; data that is not JSON is kept as text. */
function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? null;
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      try {
        return { event, data: JSON.parse(data) as unknown };
      } catch {
        return { event, data };
      }
    });
}

const SYSTEM = 'You are a terse assistant.';
const PROMPT = 'Tell me about the weather in Lisbon';
const CONVERSATION = [{ role: 'system', content: SYSTEM }, { role: 'user', content: PROMPT }];

describe('mock LLM server (Anthropic messages)', () => {
  let mock: MockLlm;
  const post = (args: { model: string; headers?: Record<string, string>; body?: Record<string, unknown>; raw?: string }): Promise<Response> =>
    fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...(args.headers ?? { 'x-api-key': 'sk-ant-test-secret-123' }) },
      body: args.raw ?? JSON.stringify({ model: args.model, max_tokens: 256, system: SYSTEM, messages: [{ role: 'user', content: PROMPT }], ...args.body }),
    });

  beforeAll(async () => { mock = await startMockLlm(); });
  afterAll(async () => { await mock.close(); });
  beforeEach(() => { mock.reset(); });

  it('answers a message with the system prompt in front of the conversation, exact usage, and a redacted record', async () => {
    const res = await post({ model: 'claude-test' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const answer = mockAnswer('claude-test', CONVERSATION);
    const usage = mockUsage(CONVERSATION, answer);
    expect(body).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-test',
      content: [{ type: 'text', text: answer }],
      stop_reason: 'end_turn',
      usage: { input_tokens: usage.promptTokens, output_tokens: usage.completionTokens, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
    expect(String(body.id)).toMatch(/^msg_/);
    const rec = mock.requests[0]!;
    expect(rec).toMatchObject({ provider: 'anthropic', path: '/v1/messages', model: 'claude-test', stream: false, status: 200, messages: CONVERSATION });
    expect(rec.headers['x-api-key']).toBe('[redacted]');
    expect(JSON.stringify(rec)).not.toContain('sk-ant-test-secret-123');
  });

  it('takes the key from x-api-key or authorization: Bearer, and answers 401 in Anthropic error format otherwise', async () => {
    expect((await post({ model: 'm', headers: { authorization: 'Bearer sk-ant-1' } })).status).toBe(200);
    const missing = await post({ model: 'm', headers: {} });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
    const refused = await post({ model: 'm', headers: { 'x-api-key': MOCK_INVALID_API_KEY } });
    expect(refused.status).toBe(401);
    expect(JSON.stringify(await refused.json())).not.toContain(MOCK_INVALID_API_KEY);
  });

  it('streams message_start, content_block_start, text deltas, content_block_stop, message_delta, message_stop', async () => {
    const res = await post({ model: 'claude-test', body: { stream: true } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = parseSse(await res.text());
    for (const e of events) expect((e.data as { type: string }).type).toBe(e.event);
    const names = events.map((e) => e.event).filter((n) => n !== 'ping');
    const deltaCount = names.filter((n) => n === 'content_block_delta').length;
    expect(deltaCount).toBeGreaterThan(3);
    expect(names).toEqual(['message_start', 'content_block_start', ...Array<string>(deltaCount).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
    const answer = mockAnswer('claude-test', CONVERSATION);
    const usage = mockUsage(CONVERSATION, answer);
    const data = events.map((e) => e.data as Record<string, any>);
    expect(data[0]!.message.usage.input_tokens).toBe(usage.promptTokens);
    expect(data.filter((d) => d.type === 'content_block_delta').map((d) => d.delta.text as string).join('')).toBe(answer);
    expect(data.find((d) => d.type === 'message_delta')).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: usage.completionTokens } });
    expect(mock.requests[0]?.stream).toBe(true);
  });

  it('answers a JSON object when the system prompt or a user message asks for JSON', async () => {
    const system = 'Reply in JSON only.';
    const res = await post({ model: 'claude-test', body: { system } });
    const text = ((await res.json()) as { content: Array<{ text: string }> }).content[0]!.text;
    expect(text).toBe(mockJsonAnswer('claude-test', [{ role: 'system', content: system }, { role: 'user', content: PROMPT }]));
    expect(JSON.parse(text)).toMatchObject({ model: 'claude-test' });
    const inMessage = await post({ model: 'claude-test', body: { system: undefined, messages: [{ role: 'user', content: [{ type: 'text', text: 'Give me json please' }] }] } });
    expect(JSON.parse(((await inMessage.json()) as { content: Array<{ text: string }> }).content[0]!.text)).toMatchObject({ model: 'claude-test' });
  });

  it('validates the body like the API: max_tokens required, messages non-empty, known roles', async () => {
    const cases = [
      { max_tokens: undefined },
      { messages: [] },
      { messages: [{ role: 'tool', content: 'x' }] },
      { system: 42 },
    ];
    for (const body of cases) {
      const res = await post({ model: 'claude-test', body });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    }
    expect((await post({ model: 'claude-test', raw: '{nope' })).status).toBe(400);
  });

  it('serves the faults in Anthropic error format, with Retry-After on a rate limit', async () => {
    const limited = await post({ model: 'mock-429' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect((await post({ model: 'mock-429' })).status).toBe(200);
    expect(await (await post({ model: 'mock-500' })).json()).toMatchObject({ error: { type: 'api_error' } });
    expect(await (await post({ model: 'mock-400' })).json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    const notFound = await post({ model: 'mock-404' });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ error: { type: 'not_found_error' } });
    expect(mock.requests.every((r) => r.provider === 'anthropic')).toBe(true);
  });

  it('mock-malformed sends a named event whose data is not JSON; mock-cut drops the stream', async () => {
    const malformed = parseSse(await (await post({ model: 'mock-malformed', body: { stream: true } })).text());
    const broken = malformed.find((e) => typeof e.data === 'string');
    expect(broken?.event).toBe('content_block_delta');
    await expect((await post({ model: 'mock-cut', body: { stream: true } })).text()).rejects.toThrow();
  });
});
