/**
 * The egress wall and the output caps on real processes (one api, one worker, Redis and
 * Postgres), LLM nodes through the official SDKs:
 * - a provider credential's baseUrl gets the http node's address policy, judged when the
 *   worker connects: loopback only where the workspace allows private networks, cloud metadata
 *   never, and a refused target is never sent anything (so its answer cannot leak);
 * - a 50 MB answer, streamed or not, fails the attempt while it arrives, and the worker's peak
 *   RSS grows by a small fraction of it; an http node's huge body fails likewise.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { startLocalServer, type LocalServer } from '../helpers/loopback-harness.js';
import { apiClient } from '../helpers/http.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';

type Call = ReturnType<typeof apiClient>;

const INTERNAL_ANSWER = 'internal-only-answer-7d41c9';
const HUGE_BYTES = 50 * 1024 * 1024;
const HTTP_MAX_RESPONSE_BYTES = 2 * 1024 * 1024;
const DEFAULT_MAX_TOKENS = 777;
/**
 * The bound on the worker's peak RSS growth while it is sent 50 MB answers. Buffering one whole
 * (the bytes, then the decoded string, then the parsed JSON) costs well over 100 MB; the caps
 * keep what is held to a few MB (1 MiB of text, a 4 MiB response cap, undici's buffers).
 */
const RSS_GROWTH_BOUND_BYTES = 32 * 1024 * 1024;

/** Resident set of a Linux process, now and at its peak (`VmHWM`), in bytes. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resets the peak to the current RSS (Linux clear_refs "5"); false where that is not allowed. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

describe('egress wall and output caps: api + 1 worker', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let mock: MockLlm;
  let internal: LocalServer;
  let strict: Call;
  let open: Call;

  const workspace = async (name: string): Promise<Call> => apiClient(stack.baseUrl, await stack.createWorkspace(name));

  async function run(call: Call, node: Record<string, unknown>): Promise<any> {
    const flow = await call('POST', '/v1/flows', { name: `egress-${String(node.id)}`, nodes: [node], edges: [] });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const res = await call('POST', `/v1/flows/${flow.body.id}/executions`, { input: {}, wait: true, timeoutMs: 60_000 });
    expect(res.status, JSON.stringify(res.body).slice(0, 2000)).toBe(200);
    return res.body;
  }

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    // Stands for an internal service: it would answer anything, and must never be asked.
    internal = await startLocalServer((req, res) => {
      if (req.url === '/huge') {
        // An endless body: only the worker's cap ends it.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 'z');
        let sent = 0;
        const pump = (): void => {
          while (!res.destroyed && sent < HUGE_BYTES && res.write(chunk)) sent += chunk.length;
          if (res.destroyed || sent >= HUGE_BYTES) res.end();
          else res.once('drain', pump);
        };
        pump();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: INTERNAL_ANSWER }, choices: [{ message: { role: 'assistant', content: INTERNAL_ANSWER }, finish_reason: 'stop' }] }));
    });
    stack = await startDistributedStack({
      ...svc,
      workers: ['w1'],
      env: { LOG_LEVEL: 'info', WEFT_HTTP_MAX_RESPONSE_BYTES: String(HTTP_MAX_RESPONSE_BYTES), WEFT_LLM_DEFAULT_MAX_TOKENS: String(DEFAULT_MAX_TOKENS) },
    });
    strict = await workspace('egress-strict');
    open = await workspace('egress-open');
    expect((await open('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
  }, STACK_START_MS);

  afterAll(async () => {
    await stack?.stop();
    await internal?.close();
    await mock?.close();
    await svc?.cleanup();
  });

  it('refuses a credential pointing at loopback for a strict workspace: nothing is sent, nothing of the target leaks', async () => {
    expect((await strict('PUT', '/v1/credentials/openai-compatible', { apiKey: 'sk-egress-test-0001', baseUrl: `${internal.origin}/v1` })).status).toBe(204);
    for (const stream of [true, false]) {
      const body = await run(strict, { id: `loop${String(stream)}`, type: 'llm', provider: 'openai-compatible', model: 'llama', prompt: 'hi', stream });
      expect(body.status).toBe('failed');
      expect(body.error).toMatchObject({ code: 'llm_address_blocked', category: 'permanent' });
      expect(body.nodes[0]).toMatchObject({ status: 'failed', attempts: 1 });
      expect(body.nodes[0].error.message).toContain('127.0.0.1');
      expect(JSON.stringify(body)).not.toContain(INTERNAL_ANSWER);
    }
    expect(internal.requests).toHaveLength(0);
    expect(internal.connections()).toBe(0);
    expect(stack.procs[1]?.output()).toContain('llm call stopped at the egress wall');
  });

  it('refuses cloud metadata even where the workspace allows private networks', async () => {
    for (const baseUrl of ['http://169.254.169.254/v1', 'http://[::ffff:a9fe:a9fe]/v1', 'http://metadata.google.internal/v1']) {
      expect((await open('PUT', '/v1/credentials/openai', { apiKey: 'sk-egress-test-0002', baseUrl })).status).toBe(204);
      const body = await run(open, { id: 'meta', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'hi', stream: false });
      expect(body.error, baseUrl).toMatchObject({ code: 'llm_address_blocked', category: 'permanent' });
    }
  });

  it('reaches a loopback provider where the workspace allows private networks, with the default maxTokens', async () => {
    expect((await open('PUT', '/v1/credentials/openai-compatible', { apiKey: 'sk-egress-test-0003', baseUrl: `${mock.url}/v1` })).status).toBe(204);
    mock.reset();
    for (const stream of [true, false]) {
      const body = await run(open, { id: `ok${String(stream)}`, type: 'llm', provider: 'openai-compatible', model: 'llama', prompt: 'Say hello', stream });
      expect(body.status, JSON.stringify(body.error)).toBe('completed');
      expect(body.nodes[0].output).toMatch(/^\[llama\] re: Say #/);
    }
    expect(mock.requests.map((r) => (r.body as { max_tokens?: number }).max_tokens)).toEqual([DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS]);
  });

  it('fails a 50 MB answer, streamed or not, with llm_output_too_large, without the worker holding it', async ({ annotate }) => {
    const pid = stack.procs[1]?.child.pid;
    if (pid === undefined) throw new Error('no worker pid');
    expect((await open('PUT', '/v1/credentials/openai', { apiKey: 'sk-egress-test-0004', baseUrl: `${mock.url}/v1` })).status).toBe(204);
    // The paths the huge answers take are warm: the SDK, undici and the caps have run once.
    for (const stream of [true, false]) {
      const warm = await run(open, { id: `warm${String(stream)}`, type: 'llm', provider: 'openai', model: 'gpt-4o-mini/mock-huge-200000', prompt: 'hi', stream });
      expect(warm.status).toBe('completed');
    }
    const peakWasReset = resetPeak(pid);
    const before = memory(pid);
    for (const stream of [true, false]) {
      const body = await run(open, { id: `huge${String(stream)}`, type: 'llm', provider: 'openai', model: `gpt-4o-mini/mock-huge-${HUGE_BYTES}`, prompt: 'hi', stream });
      expect(body.status).toBe('failed');
      expect(body.error, JSON.stringify(body.error)).toMatchObject({ code: 'llm_output_too_large', category: 'permanent' });
      expect(body.nodes[0].attempts).toBe(1);
      expect(body.nodes[0].output ?? null).toBeNull();
    }
    const after = memory(pid);
    const growth = after.peak - (peakWasReset ? before.rss : before.peak);
    const figure = `worker peak RSS growth over two 50 MB answers: ${(growth / 1048576).toFixed(1)} MiB (rss ${(before.rss / 1048576).toFixed(0)} → peak ${(after.peak / 1048576).toFixed(0)} MiB, peak reset: ${String(peakWasReset)})`;
    // Recorded with the test's result, so the figure can be reported; the assertion is the bound.
    await annotate(figure);
    expect(growth, figure).toBeLessThan(RSS_GROWTH_BOUND_BYTES);
    // The worker is fine afterwards.
    const next = await run(open, { id: 'after', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'still there?', stream: true });
    expect(next.status).toBe('completed');
  });

  it('fails an answer over WEFT_LLM_MAX_OUTPUT_BYTES that fits the response cap, streamed or not', async () => {
    // 2 MiB of text: within 4 × 1 MiB + 64 KiB of response, so the answer's own cap decides.
    for (const stream of [true, false]) {
      const body = await run(open, { id: `two${String(stream)}`, type: 'llm', provider: 'openai', model: `gpt-4o-mini/mock-huge-${2 * 1024 * 1024}`, prompt: 'hi', stream });
      expect(body.error, JSON.stringify(body.error)).toMatchObject({ code: 'llm_output_too_large', category: 'permanent' });
      expect(body.nodes[0].error.message).toContain('WEFT_LLM_MAX_OUTPUT_BYTES');
    }
  });

  it('fails an http node whose response passes WEFT_HTTP_MAX_RESPONSE_BYTES with http_response_too_large', async () => {
    const body = await run(open, { id: 'bigbody', type: 'http', method: 'GET', url: `${internal.origin}/huge` });
    expect(body.status).toBe('failed');
    expect(body.error).toMatchObject({ code: 'http_response_too_large', category: 'permanent' });
    expect(body.nodes[0].error.message).toContain(String(HTTP_MAX_RESPONSE_BYTES));
    expect(body.nodes[0].attempts).toBe(1);
    const metrics = await (await fetch(`http://127.0.0.1:${stack.workers[0]?.port ?? 0}/metrics`)).text();
    expect(metrics).toMatch(/weft_http_node_requests_total\{[^}]*outcome="response_too_large"[^}]*\} 1/);
    // The earlier tests of this file: 2 loopback refusals, 3 metadata refusals, 4 answers over the cap.
    expect(metrics).toMatch(/weft_llm_egress_refused_total\{provider="openai-compatible",reason="address_blocked"[^}]*\} 2/);
    expect(metrics).toMatch(/weft_llm_egress_refused_total\{provider="openai",reason="address_blocked"[^}]*\} 3/);
    expect(metrics).toMatch(/weft_llm_egress_refused_total\{provider="openai",reason="output_too_large"[^}]*\} 4/);
  });
});
