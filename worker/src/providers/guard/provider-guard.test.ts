/**
 * ProviderGuard over the real openai adapter against the mock provider: the breaker opens on a
 * storm of 500s and then fails fast without a request, half-opens and closes on recovery, and
 * ignores errors that say nothing about the provider's health; the rate limit refuses with a
 * retry hint and holds its slot for the whole call.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '@weft/shared/adapters/memory';
import type { WeftConfig } from '@weft/shared/config';
import { WeftError } from '@weft/shared/errors';
import { createLogger } from '@weft/shared/logging';
import { createMetrics, type WeftMetrics } from '@weft/shared/metrics';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { RATE_LIMIT_WINDOW_MS, type LlmProvider } from '@weft/shared/ports';
import { createOpenAiProvider } from '../openai-provider.js';
import { ProviderGuard } from './provider-guard.js';

const RESET_MS = 300;
const BREAKER: WeftConfig['breaker'] = { errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeoutMs: RESET_MS, rollingWindowMs: 10_000 };
const messages = [{ role: 'user' as const, content: 'Is the provider healthy?' }];

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return err instanceof WeftError ? err.code : `not a WeftError: ${String(err)}`;
  }
}

describe('ProviderGuard', () => {
  let mock: MockLlm;
  let provider: LlmProvider;
  let metrics: WeftMetrics;
  let guard: ProviderGuard;
  let limiter: MemoryRateLimiter;

  beforeAll(async () => {
    mock = await startMockLlm();
    provider = createOpenAiProvider({ apiKey: 'sk-guard-test-0123456789', baseUrl: `${mock.url}/v1` });
  });
  afterAll(async () => {
    await mock.close();
  });

  const makeGuard = (rateLimits: WeftConfig['providerRateLimits'] = {}): ProviderGuard => {
    guard = new ProviderGuard({ breaker: BREAKER, rateLimits, limiter, logger: createLogger({ level: 'silent', name: 'guard-test' }), metrics, random: () => 0 });
    return guard;
  };
  beforeEach(() => {
    mock.reset();
    metrics = createMetrics();
    limiter = new MemoryRateLimiter();
  });
  afterEach(async () => {
    guard.close();
    await limiter.close();
  });

  const complete = (model: string, workspaceId = 'ws1', signal = new AbortController().signal): Promise<unknown> =>
    guard.call({ workspaceId, provider: 'openai', leaseMs: 10_000, signal }, (s) => provider.complete({ model, messages }, s ?? signal));

  const circuitState = async (): Promise<number | undefined> =>
    (await metrics.circuitState.get()).values.find((v) => v.labels.provider === 'openai')?.value;

  it('opens on a storm of 500s, fails fast without calling the provider, then half-opens and closes on a healthy call', async () => {
    makeGuard();
    for (let i = 0; i < BREAKER.volumeThreshold; i += 1) expect(await codeOf(complete('gpt-4o/mock-500'))).toBe('LLM_SERVER_ERROR');
    expect(await circuitState()).toBe(2);
    const seen = mock.requests.length;

    const refused = await complete('gpt-4o').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(WeftError);
    expect((refused as WeftError).code).toBe('LLM_CIRCUIT_OPEN');
    expect((refused as WeftError).category).toBe('dependency');
    expect((refused as WeftError).retryAfterMs).toBeGreaterThan(0);
    expect((refused as WeftError).retryAfterMs).toBeLessThanOrEqual(RESET_MS);
    for (let i = 0; i < 5; i += 1) expect(await codeOf(complete('gpt-4o/mock-500'))).toBe('LLM_CIRCUIT_OPEN');
    expect(mock.requests.length).toBe(seen);

    // After the reset timeout the circuit half-opens: the next call probes, succeeds, closes it.
    await expect.poll(circuitState, { timeout: RESET_MS + 10_000, interval: 10 }).toBe(1);
    expect(await codeOf(complete('gpt-4o'))).toBe('ok');
    expect(await circuitState()).toBe(0);
    expect(mock.requests.length).toBe(seen + 1);

    // A recovered provider starts from a clean window: one more 500 does not re-open it.
    expect(await codeOf(complete('gpt-4o/mock-500'))).toBe('LLM_SERVER_ERROR');
    expect(await codeOf(complete('gpt-4o'))).toBe('ok');
    expect(await circuitState()).toBe(0);
  });

  it('re-opens when the half-open probe fails', async () => {
    makeGuard();
    for (let i = 0; i < BREAKER.volumeThreshold; i += 1) await codeOf(complete('gpt-4o/mock-500'));
    await expect.poll(circuitState, { timeout: RESET_MS + 10_000, interval: 10 }).toBe(1);
    expect(await codeOf(complete('gpt-4o/mock-500'))).toBe('LLM_SERVER_ERROR');
    expect(await circuitState()).toBe(2);
    expect(await codeOf(complete('gpt-4o'))).toBe('LLM_CIRCUIT_OPEN');
  });

  it('does not open on errors that say nothing about the provider: 400s, 404s, cancellations', async () => {
    makeGuard();
    for (let i = 0; i < 3 * BREAKER.volumeThreshold; i += 1) expect(await codeOf(complete('gpt-4o/mock-400'))).toBe('LLM_BAD_REQUEST');
    for (let i = 0; i < BREAKER.volumeThreshold; i += 1) expect(await codeOf(complete('gpt-4o/mock-404'))).toBe('LLM_MODEL_NOT_FOUND');
    for (let i = 0; i < BREAKER.volumeThreshold; i += 1) {
      const controller = new AbortController();
      const cancelled = codeOf(complete('gpt-4o/mock-hang', 'ws1', controller.signal));
      // Cancelled once the call is on the wire: the provider never answers it.
      await expect.poll(() => mock.requests.some((r) => r.faults.includes('hang') && r.finishedAt === null), { timeout: 10_000, interval: 5 }).toBe(true);
      controller.abort();
      expect(await cancelled).toBe('NODE_CANCELLED');
    }
    expect(await circuitState()).toBe(0);
    expect(await codeOf(complete('gpt-4o'))).toBe('ok');
  });

  it('counts a node timeout (the signal aborted by a timeout) as a provider failure', async () => {
    makeGuard();
    for (let i = 0; i < BREAKER.volumeThreshold; i += 1) {
      expect(await codeOf(complete('gpt-4o/mock-hang', 'ws1', AbortSignal.timeout(20)))).not.toBe('ok');
    }
    expect(await circuitState()).toBe(2);
  });

  it('keeps one circuit per workspace', async () => {
    makeGuard();
    for (let i = 0; i < BREAKER.volumeThreshold; i += 1) await codeOf(complete('gpt-4o/mock-500', 'ws-a'));
    expect(await codeOf(complete('gpt-4o', 'ws-a'))).toBe('LLM_CIRCUIT_OPEN');
    expect(await codeOf(complete('gpt-4o', 'ws-b'))).toBe('ok');
    // The gauge shows the worst circuit of the provider.
    expect(await circuitState()).toBe(2);
  });

  it('refuses past the rate limit with a retry hint, without calling the provider, and counts the refusal', async () => {
    makeGuard({ openai: { requestsPerSecond: 2 } });
    expect(await codeOf(complete('gpt-4o'))).toBe('ok');
    expect(await codeOf(complete('gpt-4o'))).toBe('ok');
    const refused = await complete('gpt-4o').catch((err: unknown) => err);
    expect((refused as WeftError).code).toBe('PROVIDER_RATE_LIMITED');
    expect((refused as WeftError).category).toBe('dependency');
    expect((refused as WeftError).retryAfterMs).toBeGreaterThan(0);
    // The window (with its transit margin) plus the guard's jitter of at most 10%.
    expect((refused as WeftError).retryAfterMs).toBeLessThanOrEqual(Math.ceil(RATE_LIMIT_WINDOW_MS.second * 1.1));
    expect(mock.requests).toHaveLength(2);
    const throttled = (await metrics.providerThrottledTotal.get()).values;
    expect(throttled).toEqual([expect.objectContaining({ labels: { provider: 'openai', reason: 'second' }, value: 1 })]);
    // Refusals are not provider failures.
    for (let i = 0; i < BREAKER.volumeThreshold; i += 1) await codeOf(complete('gpt-4o'));
    expect(await circuitState()).toBe(0);
  });

  it('holds a concurrency slot for the whole stream and frees it when the stream ends', async () => {
    makeGuard({ openai: { maxConcurrent: 1 } });
    const signal = new AbortController().signal;
    let deltas = 0;
    const streaming = guard.call({ workspaceId: 'ws1', provider: 'openai', leaseMs: 10_000, signal }, async () => {
      for await (const part of provider.stream({ model: 'gpt-4o/mock-slow-40', messages }, signal)) if (part.type === 'delta') deltas += 1;
      return deltas;
    });
    await expect.poll(() => mock.active, { timeout: 10_000, interval: 5 }).toBe(1);
    expect(await codeOf(complete('gpt-4o'))).toBe('PROVIDER_RATE_LIMITED');
    expect(await streaming).toBeGreaterThan(1);
    expect(await codeOf(complete('gpt-4o'))).toBe('ok');
  });

  it('frees the slot when the call fails', async () => {
    makeGuard({ openai: { maxConcurrent: 1 } });
    expect(await codeOf(complete('gpt-4o/mock-400'))).toBe('LLM_BAD_REQUEST');
    expect(await codeOf(complete('gpt-4o'))).toBe('ok');
  });
});
