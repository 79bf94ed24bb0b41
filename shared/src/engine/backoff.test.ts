import { describe, expect, it } from 'vitest';
import { BACKOFF_JITTER, MAX_BACKOFF_MS, backoffDelay } from './backoff.js';

const middle = (): number => 0.5;

describe('backoffDelay', () => {
  it('waits delayMs for a fixed policy, whatever the attempt', () => {
    for (const attempt of [1, 2, 7]) {
      expect(backoffDelay({ attempt, policy: { type: 'fixed', delayMs: 250 } })).toBe(250);
    }
  });

  it('doubles an exponential delay per attempt', () => {
    const policy = { type: 'exponential', delayMs: 100 } as const;
    expect([1, 2, 3, 4].map((attempt) => backoffDelay({ attempt, policy, random: middle }))).toEqual([100, 200, 400, 800]);
  });

  it('jitters an exponential delay by at most ±20 %, deterministically with an injected random', () => {
    const policy = { type: 'exponential', delayMs: 1000 } as const;
    expect(backoffDelay({ attempt: 2, policy, random: () => 0 })).toBe(2000 * (1 - BACKOFF_JITTER));
    expect(backoffDelay({ attempt: 2, policy, random: () => 1 })).toBe(2000 * (1 + BACKOFF_JITTER));
    expect(backoffDelay({ attempt: 2, policy, random: () => 0.25 })).toBe(1800);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay({ attempt: 3, policy });
      expect(delay).toBeGreaterThanOrEqual(3200);
      expect(delay).toBeLessThanOrEqual(4800);
    }
  });

  it('caps exponential growth at 10 minutes, jitter included', () => {
    const policy = { type: 'exponential', delayMs: 1000 } as const;
    expect(backoffDelay({ attempt: 30, policy, random: () => 1 })).toBe(MAX_BACKOFF_MS);
    expect(backoffDelay({ attempt: 5000, policy, random: () => 0 })).toBe(MAX_BACKOFF_MS);
  });

  it('defaults to exponential from 1000 ms without a policy', () => {
    expect(backoffDelay({ attempt: 1, random: middle })).toBe(1000);
    expect(backoffDelay({ attempt: 3, random: middle })).toBe(4000);
  });

  it('lets retryAfterMs win over any policy, even when shorter or beyond the cap', () => {
    expect(backoffDelay({ attempt: 4, policy: { type: 'fixed', delayMs: 5000 }, retryAfterMs: 1200 })).toBe(1200);
    expect(backoffDelay({ attempt: 1, retryAfterMs: 0 })).toBe(0);
    expect(backoffDelay({ attempt: 1, retryAfterMs: 2 * MAX_BACKOFF_MS })).toBe(2 * MAX_BACKOFF_MS);
    expect(backoffDelay({ attempt: 1, retryAfterMs: 10.2 })).toBe(11);
  });

  it('ignores unusable inputs instead of returning NaN or negative delays', () => {
    expect(backoffDelay({ attempt: 1, retryAfterMs: Number.NaN, random: middle })).toBe(1000);
    expect(backoffDelay({ attempt: 1, retryAfterMs: -50 })).toBe(0);
    expect(backoffDelay({ attempt: 0, policy: { type: 'exponential', delayMs: 100 }, random: middle })).toBe(100);
    expect(backoffDelay({ attempt: 2000, policy: { type: 'exponential', delayMs: 0 } })).toBe(0);
    expect(backoffDelay({ attempt: 1, policy: { type: 'fixed', delayMs: -5 } })).toBe(0);
    expect(backoffDelay({ attempt: 2, policy: { type: 'exponential', delayMs: 100 }, random: () => Number.NaN })).toBe(200);
  });
});
