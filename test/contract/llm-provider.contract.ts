/**
 * The suite every LlmProvider adapter passes, through its real SDK against the local mock
 * provider server, whatever the wire protocol (the mock puts each protocol's system prompt back
 * in front of the conversation). Answers and usage are computed from the request (mockAnswer,
 * mockUsage), so the assertions are exact.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WeftError, type ErrorCode } from '@weft/shared/errors';
import type { Usage } from '@weft/shared/model';
import type { LlmProvider, LlmRequest, LlmStreamPart } from '@weft/shared/ports';
import { MOCK_INVALID_API_KEY, mockAnswer, mockJsonAnswer, mockUsage, startMockLlm, type MockLlm, type MockMessage } from '@weft/shared/mock-llm';
import { waitFor } from '../helpers/wait-for.js';

export interface ProviderOverrides {
  /** Use this key instead of a valid one. */
  apiKey?: string;
  timeoutMs?: number;
}

/** Builds the adapter under test pointed at the mock (a valid key unless overridden). */
export type MakeProvider = (mock: MockLlm, overrides?: ProviderOverrides) => LlmProvider;

const SYSTEM = 'You are a terse assistant.';

function request(model: string, prompt: string, extra: Partial<LlmRequest> = {}): LlmRequest {
  return { model, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: prompt }], ...extra };
}

function expectedUsage(messages: readonly MockMessage[], text: string): Usage {
  return { ...mockUsage(messages, text), reasoningTokens: 0, cachedTokens: 0 };
}

function turns(messages: readonly MockMessage[]): MockMessage[] {
  return messages.filter((m) => m.role !== 'system');
}

async function rejection(promise: Promise<unknown>): Promise<WeftError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WeftError);
    return err as WeftError;
  }
  throw new Error('expected a rejection');
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<WeftError> {
  const err = await rejection(promise);
  expect({ code: err.code, message: err.message }).toMatchObject({ code });
  return err;
}

async function collect(parts: AsyncIterable<LlmStreamPart>, onPart?: (part: LlmStreamPart) => void): Promise<LlmStreamPart[]> {
  const out: LlmStreamPart[] = [];
  for await (const part of parts) {
    out.push(part);
    onPart?.(part);
  }
  return out;
}

function never(): AbortSignal {
  return new AbortController().signal;
}

export function llmProviderContract(name: string, makeProvider: MakeProvider): void {
  describe(`LlmProvider contract: ${name}`, () => {
    let mock: MockLlm;
    let provider: LlmProvider;

    beforeAll(async () => {
      mock = await startMockLlm({ port: 0 });
      provider = makeProvider(mock);
    });
    afterAll(async () => {
      await mock.close();
    });
    beforeEach(() => {
      mock.reset();
    });

    describe('answers', () => {
      it('complete returns the exact text and usage', async () => {
        const req = request('gpt-contract', 'Name three rivers that flow through Portugal.');
        const res = await provider.complete(req, never());
        const text = mockAnswer(req.model, req.messages);
        expect(res.text).toBe(text);
        expect(res.usage).toEqual(expectedUsage(req.messages, text));
        expect(res.raw).toBeDefined();
        expect(mock.requests).toHaveLength(1);
        expect(mock.requests[0]).toMatchObject({ model: 'gpt-contract', stream: false, status: 200, aborted: false });
        // The system prompt reached the provider as its system prompt, the turns unchanged.
        expect(mock.requests[0]?.messages).toEqual(req.messages);
      });

      it('passes the whole conversation, so distinct prompts get distinct answers', async () => {
        const a = await provider.complete(request('gpt-contract', 'Question A, about tides and moons'), never());
        const b = await provider.complete(request('gpt-contract', 'Question B, about tides and moons'), never());
        expect(a.text).not.toBe(b.text);
        const multi: LlmRequest = {
          model: 'gpt-contract',
          messages: [
            { role: 'system', content: SYSTEM },
            { role: 'user', content: 'First turn of the conversation here' },
            { role: 'assistant', content: a.text },
            { role: 'user', content: 'And a follow-up question about it' },
          ],
        };
        expect((await provider.complete(multi, never())).text).toBe(mockAnswer(multi.model, multi.messages));
      });

      it('stream yields deltas that join to the same text, then one done with the same usage', async () => {
        const req = request('gpt-contract', 'Explain how a lighthouse lens focuses light.');
        const complete = await provider.complete(req, never());
        const parts = await collect(provider.stream(req, never()));
        const deltas = parts.filter((p) => p.type === 'delta');
        const done = parts.filter((p) => p.type === 'done');
        expect(deltas.length).toBeGreaterThan(2);
        expect(done).toHaveLength(1);
        expect(parts.at(-1)?.type).toBe('done');
        const joined = deltas.map((d) => d.text).join('');
        expect(joined).toBe(complete.text);
        expect(done[0]).toEqual({ type: 'done', text: complete.text, usage: complete.usage });
        expect(mock.requests.map((r) => r.stream)).toEqual([false, true]);
      });

      it('json mode answers a parseable JSON object, streaming or not', async () => {
        const req = request('gpt-contract', 'Reply in JSON with the capital of Peru.', { responseFormat: 'json' });
        const res = await provider.complete(req, never());
        // An adapter may add an instruction to the system prompt (Anthropic has no JSON switch);
        // the turns reach the provider unchanged, and the answer is that of what was sent.
        const sent = mock.requests[0]?.messages ?? [];
        expect(turns(sent)).toEqual(turns(req.messages));
        expect(res.text).toBe(mockJsonAnswer(req.model, sent));
        expect(JSON.parse(res.text)).toEqual({ answer: mockAnswer(req.model, sent), model: req.model });
        expect(res.usage).toEqual(expectedUsage(sent, res.text));
        const streamed = await collect(provider.stream(req, never()));
        expect(streamed.at(-1)).toEqual({ type: 'done', text: res.text, usage: res.usage });
      });

      it('json mode works when the prompt itself does not mention JSON', async () => {
        const req = request('gpt-contract', 'What is the capital of Peru?', { responseFormat: 'json' });
        const res = await provider.complete(req, never());
        expect(JSON.parse(res.text)).toMatchObject({ model: req.model });
        const plain = await provider.complete({ ...req, responseFormat: 'text' }, never());
        expect(plain.text).toBe(mockAnswer(req.model, req.messages));
      });

      it('waits out a slow provider', async () => {
        const req = request('mock-slow-150', 'Take your time with this one please.');
        const res = await provider.complete(req, never());
        // The mock held the answer back (and saw no abort): the provider waited for it.
        expect(mock.requests).toHaveLength(1);
        expect(mock.requests[0]).toMatchObject({ faults: ['slow-150'], status: 200, aborted: false });
        expect(res.text).toBe(mockAnswer(req.model, req.messages));
        const streamed = request('mock-slow-20', 'Take your time with this one please.');
        const parts = await collect(provider.stream(streamed, never()));
        expect(parts.at(-1)).toMatchObject({ type: 'done', text: mockAnswer(streamed.model, streamed.messages) });
      });

      it('runs concurrent requests concurrently', async () => {
        const reqs = [1, 2, 3].map((i) => request('mock-slow-200', `Parallel question number ${i}, please.`));
        const results = await Promise.all(reqs.map((r) => provider.complete(r, never())));
        expect(results.map((r) => r.text)).toEqual(reqs.map((r) => mockAnswer(r.model, r.messages)));
        expect(mock.maxActive).toBe(3);
      });
    });

    describe('classifies failures', () => {
      it('429 → LLM_RATE_LIMITED with retryAfterMs from Retry-After, and the retry succeeds', async () => {
        const req = request('mock-429', 'Rate limited the first time round.');
        const err = await expectCode(provider.complete(req, never()), 'LLM_RATE_LIMITED');
        expect(err.category).toBe('transient');
        expect(err.retryAfterMs).toBe(1000);
        expect((await provider.complete(req, never())).text).toBe(mockAnswer(req.model, req.messages));
      });

      it('429 on a stream → LLM_RATE_LIMITED before any delta', async () => {
        const parts: LlmStreamPart[] = [];
        const err = await expectCode(collect(provider.stream(request('mock-429-always', 'Streamed and limited.'), never()), (p) => parts.push(p)), 'LLM_RATE_LIMITED');
        expect(err.retryAfterMs).toBe(1000);
        expect(parts).toEqual([]);
      });

      it('500 → LLM_SERVER_ERROR, transient', async () => {
        const err = await expectCode(provider.complete(request('mock-500', 'Break the server.'), never()), 'LLM_SERVER_ERROR');
        expect(err.category).toBe('transient');
        expect(err.retryable).toBe(true);
        await expectCode(collect(provider.stream(request('mock-500', 'Break the server.'), never())), 'LLM_SERVER_ERROR');
      });

      it('400 → LLM_BAD_REQUEST, permanent', async () => {
        const err = await expectCode(provider.complete(request('mock-400', 'A bad request.'), never()), 'LLM_BAD_REQUEST');
        expect(err.category).toBe('permanent');
        expect(err.retryable).toBe(false);
      });

      it('404 → LLM_MODEL_NOT_FOUND, permanent', async () => {
        const err = await expectCode(provider.complete(request('mock-404', 'No such model.'), never()), 'LLM_MODEL_NOT_FOUND');
        expect(err.category).toBe('permanent');
      });

      it('a refused key → LLM_AUTH, permanent, without the key in the message', async () => {
        const bad = makeProvider(mock, { apiKey: MOCK_INVALID_API_KEY });
        const err = await expectCode(bad.complete(request('gpt-contract', 'Who am I?'), never()), 'LLM_AUTH');
        expect(err.category).toBe('permanent');
        expect(err.message).not.toContain(MOCK_INVALID_API_KEY);
        await expectCode(collect(bad.stream(request('gpt-contract', 'Who am I?'), never())), 'LLM_AUTH');
        expect(mock.requests.map((r) => r.status)).toEqual([401, 401]);
      });

      it('a malformed body → LLM_INVALID_RESPONSE, streaming or not', async () => {
        const err = await expectCode(provider.complete(request('mock-malformed', 'Garble it.'), never()), 'LLM_INVALID_RESPONSE');
        expect(err.category).toBe('transient');
        await expectCode(collect(provider.stream(request('mock-malformed', 'Garble it.'), never())), 'LLM_INVALID_RESPONSE');
      });

      it('a connection dropped mid-way → LLM_CONNECTION, after the first deltas and never a done', async () => {
        const parts: LlmStreamPart[] = [];
        const err = await expectCode(collect(provider.stream(request('mock-cut', 'Cut me off halfway through the answer.'), never()), (p) => parts.push(p)), 'LLM_CONNECTION');
        expect(err.category).toBe('transient');
        expect(parts.length).toBeGreaterThan(0);
        expect(parts.every((p) => p.type === 'delta')).toBe(true);
        await expectCode(provider.complete(request('mock-cut', 'Cut me off halfway through the answer.'), never()), 'LLM_CONNECTION');
      });

      it('no answer within the timeout → LLM_TIMEOUT, transient', async () => {
        // mock-hang never answers: the call ends only through the provider's own timeout.
        const timed = makeProvider(mock, { timeoutMs: 300 });
        const err = await expectCode(timed.complete(request('mock-hang', 'Never answered.'), never()), 'LLM_TIMEOUT');
        expect(err.category).toBe('transient');
        await waitFor(() => mock.requests[0]?.aborted, { message: 'the mock sees the timed-out request go away' });
      });
    });

    describe('cancellation', () => {
      it('aborting complete mid-request rejects promptly with NODE_CANCELLED and closes the request', async () => {
        const controller = new AbortController();
        const pending = provider.complete(request('mock-hang', 'Wait forever for this.'), controller.signal);
        await waitFor(() => mock.requests[0]?.faults.includes('hang'), { message: 'request reached the mock' });
        controller.abort();
        // mock-hang never answers, so the rejection can only come from the abort.
        const err = await expectCode(pending, 'NODE_CANCELLED');
        expect(err.category).toBe('permanent');
        await waitFor(() => mock.requests[0]?.aborted, { message: 'mock records the abort' });
        await waitFor(() => mock.active === 0);
      });

      it('aborting a stream before its first byte rejects with NODE_CANCELLED', async () => {
        const controller = new AbortController();
        const pending = collect(provider.stream(request('mock-hang', 'Stream that never starts.'), controller.signal));
        await waitFor(() => mock.requests[0]?.faults.includes('hang'), { message: 'request reached the mock' });
        controller.abort();
        await expectCode(pending, 'NODE_CANCELLED');
        await waitFor(() => mock.requests[0]?.aborted, { message: 'mock records the abort' });
      });

      it('aborting a stream mid-way rejects with NODE_CANCELLED and yields no done', async () => {
        const controller = new AbortController();
        const parts: LlmStreamPart[] = [];
        const pending = collect(provider.stream(request('mock-slow-100', 'A slow stream to interrupt midway.'), controller.signal), (p) => {
          parts.push(p);
          if (parts.length === 1) controller.abort();
        });
        await expectCode(pending, 'NODE_CANCELLED');
        expect(parts).toHaveLength(1);
        expect(parts[0]?.type).toBe('delta');
        await waitFor(() => mock.requests[0]?.aborted, { message: 'mock records the abort' });
      });

      it('an already-aborted signal sends nothing', async () => {
        const controller = new AbortController();
        controller.abort();
        await expectCode(provider.complete(request('gpt-contract', 'Too late.'), controller.signal), 'NODE_CANCELLED');
        await expectCode(collect(provider.stream(request('gpt-contract', 'Too late.'), controller.signal)), 'NODE_CANCELLED');
        expect(mock.requests).toHaveLength(0);
      });

      it('an abort whose reason is a WeftError (the engine timing the node out) rejects with that error', async () => {
        const controller = new AbortController();
        const pending = provider.complete(request('mock-hang', 'Timed out by the engine.'), controller.signal);
        await waitFor(() => mock.requests[0]?.faults.includes('hang'), { message: 'request reached the mock' });
        controller.abort(new WeftError('NODE_TIMEOUT', 'node timed out'));
        await expectCode(pending, 'NODE_TIMEOUT');
      });
    });
  });
}
