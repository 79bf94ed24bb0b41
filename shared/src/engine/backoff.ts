import type { BackoffPolicy } from '../flow/types.js';

/** Used when a job or node sets attempts but no backoff. */
export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = { type: 'exponential', delayMs: 1000 };

/** Exponential growth stops here so that a long retry chain still retries within minutes. */
export const MAX_BACKOFF_MS = 10 * 60_000;

/** ±20 %: spreads the retries of jobs that failed together (one provider outage) apart. */
export const BACKOFF_JITTER = 0.2;

export interface BackoffInput {
  /** The attempt that just failed, 1-based. */
  attempt: number;
  policy?: BackoffPolicy | undefined;
  /** A server's `Retry-After`, which knows better than any policy when to come back. */
  retryAfterMs?: number | undefined;
  /** Returns a number in [0, 1); injected by tests for a deterministic jitter. */
  random?: () => number;
}

/**
 * Milliseconds to wait before the next attempt. The one retry-delay decision, shared by the
 * BullMQ and in-memory queues: `retryAfterMs` wins when given; `fixed` waits `delayMs`;
 * `exponential` waits `delayMs * 2^(attempt-1)` with ±20 % jitter, capped at 10 minutes.
 */
export function backoffDelay(input: BackoffInput): number {
  const { retryAfterMs } = input;
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) {
    return Math.max(0, Math.ceil(retryAfterMs));
  }
  const policy = input.policy ?? DEFAULT_BACKOFF;
  const base = Number.isFinite(policy.delayMs) ? Math.max(0, policy.delayMs) : 0;
  switch (policy.type) {
    case 'fixed':
      return Math.round(base);
    case 'exponential': {
      // Zero times an overflowing power would be NaN.
      if (base === 0) return 0;
      const attempt = Number.isFinite(input.attempt) ? Math.max(1, Math.floor(input.attempt)) : 1;
      const raw = base * 2 ** (attempt - 1);
      const random = input.random ?? Math.random;
      const factor = 1 + BACKOFF_JITTER * (2 * clampUnit(random()) - 1);
      return Math.round(Math.min(MAX_BACKOFF_MS, raw * factor));
    }
  }
}

function clampUnit(value: number): number {
  if (!Number.isFinite(value)) return 0.5;
  return Math.min(1, Math.max(0, value));
}
