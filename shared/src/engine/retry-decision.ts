/** Whether a failed job runs again, and when — pure; the one decision both queues and the node processor switch on. */
import type { ErrorCategory } from '../model/error-codes.js';
import type { BackoffPolicy } from '../flow/types.js';
import { backoffDelay } from './backoff.js';

/** Delay before a job that hit an unreachable dependency runs again (plus up to 20 % jitter). */
export const DEPENDENCY_RETRY_DELAY_MS = 1000;

export type RetryDecision =
  /** Another attempt after `delayMs`: the failed one is spent. */
  | { kind: 'retry'; delayMs: number }
  /** A dependency (Postgres, Redis, a provider's circuit) is down: run again after `delayMs`, spending no attempt. */
  | { kind: 'redelay'; delayMs: number }
  /** The job fails for good: permanent, or its last attempt. */
  | { kind: 'fail' };

export interface RetryDecisionInput {
  error: { category: ErrorCategory; retryAfterMs?: number | undefined };
  /** The attempt that just failed, 1-based. */
  attempt: number;
  maxAttempts: number;
  backoff?: BackoffPolicy | undefined;
  /** In [0, 1); injected by tests for a deterministic jitter. */
  random?: () => number;
}

/**
 * An outage delays work and never fails it: `dependency` errors are re-delayed however often
 * (after their `retryAfterMs` when given). Transient errors are retried while attempts remain,
 * after the backoff (a server's `Retry-After` wins); permanent ones fail at once.
 */
export function retryDecision(input: RetryDecisionInput): RetryDecision {
  const { error } = input;
  const random = input.random ?? Math.random;
  switch (error.category) {
    case 'dependency':
      return { kind: 'redelay', delayMs: error.retryAfterMs ?? DEPENDENCY_RETRY_DELAY_MS + Math.floor(random() * DEPENDENCY_RETRY_DELAY_MS * 0.2) };
    case 'transient':
      if (input.attempt >= input.maxAttempts) return { kind: 'fail' };
      return { kind: 'retry', delayMs: backoffDelay({ attempt: input.attempt, policy: input.backoff, retryAfterMs: error.retryAfterMs, random }) };
    case 'permanent':
      return { kind: 'fail' };
  }
}
