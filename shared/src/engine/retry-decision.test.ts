import { describe, expect, it } from 'vitest';
import type { ErrorCategory } from '../model/error-codes.js';
import { DEPENDENCY_RETRY_DELAY_MS, retryDecision, type RetryDecision } from './retry-decision.js';

const half = (): number => 0.5;

describe('retryDecision', () => {
  const cases: Array<{ name: string; category: ErrorCategory; attempt: number; maxAttempts: number; retryAfterMs?: number; expected: RetryDecision }> = [
    { name: 'transient with attempts left: retry after the backoff', category: 'transient', attempt: 1, maxAttempts: 3, expected: { kind: 'retry', delayMs: 1000 } },
    { name: 'transient, second attempt: the backoff grows', category: 'transient', attempt: 2, maxAttempts: 3, expected: { kind: 'retry', delayMs: 2000 } },
    { name: 'transient on its last attempt: fail', category: 'transient', attempt: 3, maxAttempts: 3, expected: { kind: 'fail' } },
    { name: 'transient past its attempts (a redelivered job): fail', category: 'transient', attempt: 4, maxAttempts: 3, expected: { kind: 'fail' } },
    { name: 'transient with Retry-After: the server decides', category: 'transient', attempt: 1, maxAttempts: 3, retryAfterMs: 7000, expected: { kind: 'retry', delayMs: 7000 } },
    { name: 'permanent with attempts left: fail', category: 'permanent', attempt: 1, maxAttempts: 5, expected: { kind: 'fail' } },
    { name: 'dependency: re-delay with jitter, attempt not spent', category: 'dependency', attempt: 1, maxAttempts: 1, expected: { kind: 'redelay', delayMs: DEPENDENCY_RETRY_DELAY_MS + 100 } },
    { name: 'dependency on the last attempt: still re-delayed', category: 'dependency', attempt: 3, maxAttempts: 3, expected: { kind: 'redelay', delayMs: DEPENDENCY_RETRY_DELAY_MS + 100 } },
    { name: 'dependency with Retry-After (an open circuit)', category: 'dependency', attempt: 2, maxAttempts: 3, retryAfterMs: 30_000, expected: { kind: 'redelay', delayMs: 30_000 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const error = c.retryAfterMs === undefined ? { category: c.category } : { category: c.category, retryAfterMs: c.retryAfterMs };
      expect(retryDecision({ error, attempt: c.attempt, maxAttempts: c.maxAttempts, random: half })).toEqual(c.expected);
    });
  }

  it('follows the node policy: fixed backoff waits its delay every time', () => {
    const backoff = { type: 'fixed' as const, delayMs: 250 };
    expect([1, 2, 3].map((attempt) => retryDecision({ error: { category: 'transient' }, attempt, maxAttempts: 4, backoff, random: half }))).toEqual([
      { kind: 'retry', delayMs: 250 }, { kind: 'retry', delayMs: 250 }, { kind: 'retry', delayMs: 250 },
    ]);
  });

  it('spreads dependency re-delays over at most 20 % of the base delay', () => {
    expect(retryDecision({ error: { category: 'dependency' }, attempt: 1, maxAttempts: 1, random: () => 0 })).toEqual({ kind: 'redelay', delayMs: DEPENDENCY_RETRY_DELAY_MS });
    const highest = retryDecision({ error: { category: 'dependency' }, attempt: 1, maxAttempts: 1, random: () => 0.999 });
    expect(highest.kind === 'redelay' && highest.delayMs).toBeLessThan(DEPENDENCY_RETRY_DELAY_MS * 1.2);
  });
});
