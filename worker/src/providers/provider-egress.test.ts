/**
 * ProviderEgress through the real SDKs: every provider's connection is judged by the
 * workspace's address policy, and a response over the cap is stopped while it arrives.
 * A local server stands for the addresses a tenant must not reach: it would answer, and it
 * must never be asked.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLM_PROVIDERS, type LlmProviderName } from '@weft/shared/flow';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import type { LlmProvider, LlmRequest } from '@weft/shared/ports';
import { createProvider } from './index.js';
import { ProviderEgress, responseCapBytes } from './provider-egress.js';

const SECRET_ANSWER = 'internal-service-secret-0451';
const MAX_OUTPUT_BYTES = 64 * 1024;
const request: LlmRequest = { model: 'gpt-x', messages: [{ role: 'user', content: 'hello there' }] };
const never = (): AbortSignal => new AbortController().signal;

/** The base URL of `origin` as each SDK expects it (OpenAI style carries /v1). */
function baseUrl(provider: LlmProviderName, origin: string): string {
  return provider === 'openai' || provider === 'openai-compatible' ? `${origin}/v1` : origin;
}

async function failure(run: () => Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await run();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

async function drain(provider: LlmProvider): Promise<string> {
  let text = '';
  for await (const part of provider.stream(request, never())) if (part.type === 'done') text = part.text;
  return text;
}

describe('ProviderEgress', () => {
  let internal: Server;
  let internalOrigin: string;
  let hits = 0;
  let mock: MockLlm;
  /** Resolves every name to loopback, as a hostile or rebinding DNS record would. */
  const toLoopback: LookupFunction = (_hostname, options, callback) => {
    if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };
  const egress = new ProviderEgress({ maxOutputBytes: MAX_OUTPUT_BYTES, createAdapter: createProvider });
  const rebinding = new ProviderEgress({ maxOutputBytes: MAX_OUTPUT_BYTES, createAdapter: createProvider, lookup: toLoopback });

  beforeAll(async () => {
    internal = createServer((_req, res) => {
      hits += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: SECRET_ANSWER }, choices: [{ message: { content: SECRET_ANSWER } }] }));
    });
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
    internalOrigin = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
    mock = await startMockLlm();
  });

  afterAll(async () => {
    await egress.close();
    await rebinding.close();
    await mock.close();
    await new Promise((resolve) => internal.close(resolve));
  });

  it.each([...LLM_PROVIDERS])('%s: refuses loopback for a workspace that does not allow private networks, and never sends', async (name) => {
    const provider = egress.create(name, { apiKey: 'sk-test-egress-key', baseUrl: baseUrl(name, internalOrigin) }, { allowPrivateNetworks: false });
    for (const run of [() => provider.complete(request, never()), () => drain(provider)]) {
      const err = await failure(run);
      expect(err.code).toBe('LLM_ADDRESS_BLOCKED');
      expect(err.message).toContain('127.0.0.1');
      expect(err.message).not.toContain(SECRET_ANSWER);
    }
    expect(hits).toBe(0);
  });

  it.each([...LLM_PROVIDERS])('%s: refuses cloud metadata even where private networks are allowed', async (name) => {
    for (const origin of ['http://169.254.169.254', 'http://[::ffff:169.254.169.254]', 'http://metadata.google.internal']) {
      const provider = egress.create(name, { apiKey: 'sk-test-egress-key', baseUrl: baseUrl(name, origin) }, { allowPrivateNetworks: true });
      const err = await failure(() => provider.complete(request, never()));
      expect(err.code, origin).toBe('LLM_ADDRESS_BLOCKED');
    }
  });

  it('judges what a name resolves to, at connect time', async () => {
    const provider = rebinding.create('openai', { apiKey: 'sk-test-egress-key', baseUrl: `http://api.example.test:${new URL(internalOrigin).port}/v1` }, { allowPrivateNetworks: false });
    const err = await failure(() => provider.complete(request, never()));
    expect(err.code).toBe('LLM_ADDRESS_BLOCKED');
    expect(err.message).toContain('resolves to 127.0.0.1');
    expect(hits).toBe(0);
  });

  it.each([...LLM_PROVIDERS])('%s: reaches a loopback provider where the workspace allows private networks', async (name) => {
    const provider = egress.create(name, { apiKey: 'sk-test-egress-key', baseUrl: baseUrl(name, mock.url) }, { allowPrivateNetworks: true });
    const answer = await provider.complete(request, never());
    expect(answer.text).toMatch(/^\[gpt-x\] re: hello #/);
    expect(await drain(provider)).toBe(answer.text);
  });

  it.each([...LLM_PROVIDERS])('%s: stops a non-streamed response over the cap with LLM_OUTPUT_TOO_LARGE', async (name) => {
    const provider = egress.create(name, { apiKey: 'sk-test-egress-key', baseUrl: baseUrl(name, mock.url) }, { allowPrivateNetworks: true });
    const size = responseCapBytes(MAX_OUTPUT_BYTES) + 1024;
    const err = await failure(() => provider.complete({ ...request, model: `gpt-x/mock-huge-${size}` }, never()));
    expect(err.code).toBe('LLM_OUTPUT_TOO_LARGE');
  });

  it.each([...LLM_PROVIDERS])('%s: one provider shared by concurrent calls reports each call its own failure', async (name) => {
    // The worker keeps one provider per workspace and provider: a failure of one call (a response
    // over the cap) must not become another's, nor a later call's.
    const provider = egress.create(name, { apiKey: 'sk-test-egress-key', baseUrl: baseUrl(name, mock.url) }, { allowPrivateNetworks: true });
    const size = responseCapBytes(MAX_OUTPUT_BYTES) + 1024;
    const [huge, slowError, streamed] = await Promise.all([
      failure(() => provider.complete({ ...request, model: `gpt-x/mock-huge-${size}` }, never())),
      // Ends after the huge answer was refused.
      failure(() => provider.complete({ ...request, model: 'gpt-x/mock-slow-300/mock-500' }, never())),
      drain(provider),
    ]);
    expect(huge.code).toBe('LLM_OUTPUT_TOO_LARGE');
    expect(slowError.code).toBe('LLM_SERVER_ERROR');
    expect(streamed).toMatch(/^\[gpt-x\] re: hello #/);
    expect((await failure(() => provider.complete({ ...request, model: 'gpt-x/mock-500' }, never()))).code).toBe('LLM_SERVER_ERROR');
  });

  it('counts a body sent without Content-Length, and stops it past the cap', async () => {
    const chunked = createServer((_req, res) => {
      // Chunked, so nothing announces the size: only counting the bytes as they come stops it.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, ' ');
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.write('{"choices":[{"message":{"role":"assistant","content":"');
      pump();
    });
    await new Promise<void>((resolve) => chunked.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(chunked.address() as AddressInfo).port}`;
      const provider = egress.create('anthropic', { apiKey: 'sk-test-egress-key', baseUrl: origin }, { allowPrivateNetworks: true });
      const err = await failure(() => provider.complete(request, never()));
      expect(err.code).toBe('LLM_OUTPUT_TOO_LARGE');
    } finally {
      chunked.closeAllConnections();
      await new Promise((resolve) => chunked.close(resolve));
    }
  });

  it('stops an event stream whose one line is over the cap', async () => {
    const cap = responseCapBytes(MAX_OUTPUT_BYTES);
    const endless = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // One SSE line that never ends: an SDK would buffer it whole, waiting for its newline.
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.write('data: {"choices":[{"delta":{"content":"');
      pump();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
      const provider = egress.create('openai', { apiKey: 'sk-test-egress-key', baseUrl: `${origin}/v1` }, { allowPrivateNetworks: true });
      const err = await failure(() => drain(provider));
      expect(err.code).toBe('LLM_OUTPUT_TOO_LARGE');
      expect(err.message).toContain(String(cap));
    } finally {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    }
  });
});
