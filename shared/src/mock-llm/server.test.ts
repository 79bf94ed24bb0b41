import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockAnswer, mockJsonAnswer, mockUsage } from './answer.js';
import { MOCK_INVALID_API_KEY, startMockLlm } from './server.js';
import type { MockLlm } from './types.js';

/** Polls until `predicate` holds; the mock updates records from socket events. */
async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface ErrorBody {
  error: { message: string; type: string; code: string | null };
}

interface CompletionBody {
  choices: Array<{ message: { content: string } }>;
  usage: Record<string, unknown>;
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

interface ChatArgs {
  model: string;
  content?: string;
  key?: string | null;
  extra?: Record<string, unknown>;
  signal?: AbortSignal;
}

describe('mock LLM server (OpenAI chat completions)', () => {
  let mock: MockLlm;
  const chat = (args: ChatArgs): Promise<Response> =>
    fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(args.key === null ? {} : { authorization: `Bearer ${args.key ?? 'sk-test-secret-123'}` }),
      },
      body: JSON.stringify({ model: args.model, messages: [{ role: 'user', content: args.content ?? 'Tell me about the weather in Lisbon' }], ...args.extra }),
      ...(args.signal ? { signal: args.signal } : {}),
    });

  beforeAll(async () => { mock = await startMockLlm(); });
  afterAll(async () => { await mock.close(); });
  beforeEach(() => { mock.reset(); });

  it('answers deterministically with exact usage and records the request without the key', async () => {
    const res = await chat({ model: 'gpt-test' });
    expect(res.status).toBe(200);
    const body = await json<CompletionBody>(res);
    const messages = [{ role: 'user', content: 'Tell me about the weather in Lisbon' }];
    const answer = mockAnswer('gpt-test', messages);
    const usage = mockUsage(messages, answer);
    expect(body.choices[0]!.message.content).toBe(answer);
    expect(body.usage).toMatchObject({ prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens });
    expect(mock.requests).toHaveLength(1);
    const rec = mock.requests[0]!;
    expect(rec).toMatchObject({ id: 1, provider: 'openai', method: 'POST', path: '/v1/chat/completions', model: 'gpt-test', stream: false, status: 200, aborted: false });
    expect(rec.headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(rec)).not.toContain('sk-test-secret-123');
    expect(rec.body).toMatchObject({ model: 'gpt-test' });
    expect(rec.messages).toEqual(messages);
  });

  it('refuses a missing key and the invalid key with 401 in OpenAI error format', async () => {
    const missing = await chat({ model: 'gpt-test', key: null });
    expect(missing.status).toBe(401);
    expect((await json<ErrorBody>(missing)).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });
    const wrong = await chat({ model: 'gpt-test', key: MOCK_INVALID_API_KEY });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(await json<ErrorBody>(wrong))).not.toContain(MOCK_INVALID_API_KEY);
    expect(mock.requests.map((r) => r.status)).toEqual([401, 401]);
  });

  it('only accepts the configured key when one is given', async () => {
    const strict = await startMockLlm({ apiKey: 'right-key' });
    try {
      const post = (key: string): Promise<Response> =>
        fetch(`${strict.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
        });
      expect((await post('wrong-key')).status).toBe(401);
      expect((await post('right-key')).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('answers 400 to an invalid body and 404 to an unknown path, recording both', async () => {
    const bad = await fetch(`${mock.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{nope' });
    expect(bad.status).toBe(400);
    expect((await json<ErrorBody>(bad)).error.type).toBe('invalid_request_error');
    const noMessages = await chat({ model: 'm', extra: { messages: [] } });
    expect(noMessages.status).toBe(400);
    const unknown = await fetch(`${mock.url}/v1/embeddings`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(mock.requests.map((r) => [r.provider, r.status, r.model])).toEqual([
      ['openai', 400, null],
      ['openai', 400, 'm'],
      [null, 404, null],
    ]);
    expect(mock.requests.map((r) => r.messages)).toEqual([null, null, null]);
  });

  it('streams word-by-word deltas that join to the answer, with usage only when asked', async () => {
    const messages = [{ role: 'user', content: 'Tell me about the weather in Lisbon' }];
    const read = async (includeUsage: boolean): Promise<unknown[]> => {
      const res = await chat({ model: 'gpt-test', extra: { stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) } });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const text = await res.text();
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      return text.split('\n\n').filter((f) => f.startsWith('data: {')).map((f) => JSON.parse(f.slice(6)));
    };
    const chunks = (await read(true)) as Array<{ choices: Array<{ delta: { content?: string } }>; usage?: unknown }>;
    const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? ''));
    expect(deltas.filter((d) => d !== '').length).toBeGreaterThan(3);
    const answer = mockAnswer('gpt-test', messages);
    expect(deltas.join('')).toBe(answer);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const usage = mockUsage(messages, answer);
    expect(last.usage).toMatchObject({ prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens });
    const withoutUsage = (await read(false)) as Array<{ usage?: unknown }>;
    expect(withoutUsage.every((c) => c.usage === undefined)).toBe(true);
    expect(mock.requests.every((r) => r.stream)).toBe(true);
  });

  it('answers a JSON object in json_object mode', async () => {
    const res = await chat({ model: 'gpt-test', extra: { response_format: { type: 'json_object' } } });
    const content = (await json<CompletionBody>(res)).choices[0]!.message.content;
    expect(content).toBe(mockJsonAnswer('gpt-test', [{ role: 'user', content: 'Tell me about the weather in Lisbon' }]));
    expect(JSON.parse(content)).toMatchObject({ model: 'gpt-test' });
  });

  it('mock-429 refuses each distinct conversation once with Retry-After, until reset', async () => {
    const first = await chat({ model: 'mock-429', content: 'first conversation' });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    expect((await json<ErrorBody>(first)).error.code).toBe('rate_limit_exceeded');
    expect((await chat({ model: 'mock-429', content: 'first conversation' })).status).toBe(200);
    expect((await chat({ model: 'mock-429', content: 'second conversation' })).status).toBe(429);
    mock.reset();
    expect((await chat({ model: 'mock-429', content: 'first conversation' })).status).toBe(429);
  });

  it('serves the status faults in OpenAI error format', async () => {
    const always = [await chat({ model: 'mock-429-always' }), await chat({ model: 'mock-429-always' })];
    expect(always.map((r) => r.status)).toEqual([429, 429]);
    const server = await chat({ model: 'mock-500' });
    expect(server.status).toBe(500);
    expect((await json<ErrorBody>(server)).error.type).toBe('server_error');
    expect((await chat({ model: 'mock-400' })).status).toBe(400);
    const notFound = await chat({ model: 'mock-404' });
    expect(notFound.status).toBe(404);
    expect((await json<ErrorBody>(notFound)).error.code).toBe('model_not_found');
    expect(mock.requests.map((r) => r.faults[0])).toEqual(['rate-limited', 'rate-limited', 'server-error', 'bad-request', 'not-found']);
  });

  it('mock-echo-key-<form> echoes the key in the message and the x-echo-key header, in each form', async () => {
    const key = 'sk-echo/key+"quoted"-0123456789';
    const forms = {
      whole: key,
      masked: `${key.slice(0, 14)}****${key.slice(-4)}`,
      url: encodeURIComponent(key),
      base64: Buffer.from(key).toString('base64'),
      json: JSON.stringify(key).slice(1, -1),
    };
    for (const [form, echoed] of Object.entries(forms)) {
      const res = await chat({ model: `gpt-test/mock-echo-key-${form}`, key });
      expect(res.status, form).toBe(400);
      expect(res.headers.get('x-echo-key'), form).toBe(echoed);
      expect((await json<ErrorBody>(res)).error.message, form).toContain(echoed);
    }
  });

  it('mock-malformed answers invalid JSON and mock-cut drops the connection', async () => {
    const malformed = await chat({ model: 'mock-malformed' });
    expect(malformed.status).toBe(200);
    const text = await malformed.text();
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
    const cut = await chat({ model: 'mock-cut' });
    await expect(cut.text()).rejects.toThrow();
    const cutStream = await chat({ model: 'mock-cut', extra: { stream: true } });
    await expect(cutStream.text()).rejects.toThrow();
    await until(() => mock.active === 0);
    expect(mock.requests.map((r) => r.aborted)).toEqual([false, false, false]);
  });

  it('mock-slow delays the answer and tracks concurrent requests', async () => {
    const started = Date.now();
    const responses = await Promise.all([1, 2, 3].map((i) => chat({ model: 'mock-slow-150', content: `parallel ${i}` })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(mock.maxActive).toBe(3);
    await until(() => mock.active === 0);
  });

  it('mock-hang answers nothing and records the client going away as aborted', async () => {
    const controller = new AbortController();
    const pending = chat({ model: 'mock-hang', signal: controller.signal });
    await until(() => mock.requests[0]?.faults.includes('hang') === true);
    expect(mock.active).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await until(() => mock.requests[0]?.aborted === true);
    await until(() => mock.active === 0);
    expect(mock.requests[0]?.status).toBeNull();
  });

  it('records a stream abandoned mid-way as aborted', async () => {
    const controller = new AbortController();
    const res = await chat({ model: 'mock-slow-100', extra: { stream: true }, signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await until(() => mock.requests[0]?.aborted === true);
  });

  it('close() ends hanging requests, which are recorded as aborted', async () => {
    const other = await startMockLlm();
    const pending = fetch(`${other.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k' },
      body: JSON.stringify({ model: 'mock-hang', messages: [{ role: 'user', content: 'hello' }] }),
    }).catch((err: unknown) => err);
    await until(() => other.requests[0]?.faults.includes('hang') === true);
    await other.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(other.requests[0]?.aborted).toBe(true);
    expect(other.active).toBe(0);
  });
});
