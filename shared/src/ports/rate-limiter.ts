import type { ProviderRateLimit } from '../config/load-config.js';

/** The limits of one key; an absent limit is no limit. */
export type RateLimitRule = ProviderRateLimit;

/** Which limit refused: starts in the last second, starts in the last minute, or held leases. */
export type RateLimitReason = 'second' | 'minute' | 'concurrent';

export interface RateLimitAcquireInput {
  /** What the limit applies to, e.g. `<workspaceId>/<provider>`. */
  key: string;
  rule: RateLimitRule;
  /** A lease not released by then frees its slot anyway, so a crashed holder cannot leak it. */
  leaseMs: number;
}

export interface RateLimitLease {
  ok: true;
  /** Frees the concurrency slot; harmless to call twice or after the lease expired. */
  release(): Promise<void>;
}

export interface RateLimitRefusal {
  ok: false;
  /** When the earliest slot that blocks this acquire frees (an estimate for `concurrent`). */
  retryAfterMs: number;
  reason: RateLimitReason;
}

export type RateLimitAcquireResult = RateLimitLease | RateLimitRefusal;

/**
 * Rolling windows of the `requestsPerSecond` and `requestsPerMinute` limits. Each carries a
 * 50 ms margin: admission is measured on Redis' clock, arrival at the provider a few jittery
 * milliseconds later, and the provider must still never see more than the limit in any second.
 */
export const RATE_LIMIT_WINDOW_MS = { second: 1050, minute: 60_050 } as const;

/**
 * A held lease frees its slot when released, which no one can predict: a refusal for
 * concurrency answers this (or the earliest lease expiry, when sooner) as its retry hint.
 */
export const CONCURRENCY_RETRY_HINT_MS = 250;

/**
 * A limit shared by every holder of the same backing store (the whole fleet with Redis):
 * sliding windows — at most `requestsPerSecond` starts in any rolling 1000 ms and at most
 * `requestsPerMinute` in any rolling 60 s — and at most `maxConcurrent` leases held at once.
 * Every check and the take are one atomic step; a refusal takes nothing.
 */
export interface RateLimiter {
  acquire(input: RateLimitAcquireInput): Promise<RateLimitAcquireResult>;
  /** Releases what this adapter opened (not a connection the caller passed in). */
  close(): Promise<void>;
}
