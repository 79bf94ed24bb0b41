/**
 * The RateLimiter conformance suite: every adapter runs it (rate-limiter.test.ts). Sliding
 * windows per second and per minute, concurrent leases that expire, atomic check-and-take
 * (two holders of the same store racing), and refusals that take nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONCURRENCY_RETRY_HINT_MS, RATE_LIMIT_WINDOW_MS, type RateLimitAcquireResult, type RateLimiter, type RateLimitRule } from '../../shared/src/ports/rate-limiter.js';

export interface RateLimiterFixture {
  limiter: RateLimiter;
  /** Another limiter on the same store (with Redis: another connection), as a second worker has. */
  peer: RateLimiter;
  cleanup(): Promise<void>;
}

const LEASE_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function rateLimiterContract(name: string, makeLimiter: () => Promise<RateLimiterFixture>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let fx: RateLimiterFixture;
    let key: string;
    beforeEach(async () => {
      fx = await makeLimiter();
      key = `ws-${randomUUID()}/openai`;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    const take = (rule: RateLimitRule, options: { key?: string; leaseMs?: number; via?: RateLimiter } = {}): Promise<RateLimitAcquireResult> =>
      (options.via ?? fx.limiter).acquire({ key: options.key ?? key, rule, leaseMs: options.leaseMs ?? LEASE_MS });

    it('admits requestsPerSecond starts, then refuses with the time until the oldest leaves the second', async () => {
      const rule = { requestsPerSecond: 3 };
      for (let i = 0; i < 3; i += 1) expect((await take(rule)).ok).toBe(true);
      const refused = await take(rule);
      expect(refused).toMatchObject({ ok: false, reason: 'second' });
      if (refused.ok) return;
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(RATE_LIMIT_WINDOW_MS.second);
    });

    it('slides the window: a slot frees when its own start is a second old, not at a fixed boundary', async () => {
      const rule = { requestsPerSecond: 2 };
      expect((await take(rule)).ok).toBe(true);
      await sleep(500);
      expect((await take(rule)).ok).toBe(true);
      const first = await take(rule);
      if (first.ok) throw new Error('a third start within a second was admitted');
      // The first start leaves the window about 500 ms (plus the window's margin) from now.
      expect(first.retryAfterMs).toBeGreaterThan(300);
      expect(first.retryAfterMs).toBeLessThanOrEqual(RATE_LIMIT_WINDOW_MS.second - 500 + 20);
      // A refusal took nothing: waiting for the hint is enough.
      expect((await take(rule)).ok).toBe(false);
      await sleep(first.retryAfterMs + 15);
      expect((await take(rule)).ok).toBe(true);
      // Now the second start (500 ms after the first) blocks: about 500 ms more.
      const second = await take(rule);
      if (second.ok) throw new Error('the window let in more than requestsPerSecond');
      expect(second.reason).toBe('second');
      expect(second.retryAfterMs).toBeGreaterThan(300);
      expect(second.retryAfterMs).toBeLessThanOrEqual(RATE_LIMIT_WINDOW_MS.second - 500 + 20);
    });

    it('limits starts per rolling minute', async () => {
      const rule = { requestsPerMinute: 2 };
      expect((await take(rule)).ok).toBe(true);
      expect((await take(rule)).ok).toBe(true);
      const refused = await take(rule);
      expect(refused).toMatchObject({ ok: false, reason: 'minute' });
      if (refused.ok) return;
      expect(refused.retryAfterMs).toBeGreaterThan(59_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(RATE_LIMIT_WINDOW_MS.minute);
    });

    it('answers the longest wait when several limits refuse', async () => {
      const rule = { requestsPerSecond: 1, requestsPerMinute: 1, maxConcurrent: 1 };
      expect((await take(rule)).ok).toBe(true);
      const refused = await take(rule);
      expect(refused).toMatchObject({ ok: false, reason: 'minute' });
    });

    it('holds at most maxConcurrent leases; a release frees one slot, once', async () => {
      const rule = { maxConcurrent: 2 };
      const a = await take(rule);
      const b = await take(rule);
      if (!a.ok || !b.ok) throw new Error('the first two leases were refused');
      const refused = await take(rule);
      expect(refused).toMatchObject({ ok: false, reason: 'concurrent' });
      if (refused.ok) return;
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(CONCURRENCY_RETRY_HINT_MS);
      await a.release();
      await a.release();
      const c = await take(rule);
      expect(c.ok).toBe(true);
      // Releasing `a` twice did not free `b`'s or `c`'s slot.
      expect((await take(rule)).ok).toBe(false);
      await b.release();
      expect((await take(rule)).ok).toBe(true);
    });

    it('frees the slot of a lease never released once it expires (a crashed holder)', async () => {
      const rule = { maxConcurrent: 1 };
      expect((await take(rule, { leaseMs: 150 })).ok).toBe(true);
      const refused = await take(rule);
      if (refused.ok) throw new Error('a second lease was admitted');
      expect(refused.retryAfterMs).toBeLessThanOrEqual(150);
      await sleep(200);
      expect((await take(rule)).ok).toBe(true);
    });

    it('keeps keys apart', async () => {
      const rule = { requestsPerSecond: 1, maxConcurrent: 1 };
      expect((await take(rule)).ok).toBe(true);
      expect((await take(rule)).ok).toBe(false);
      expect((await take(rule, { key: `${key}-other` })).ok).toBe(true);
    });

    it('admits everything under a rule without limits', async () => {
      for (let i = 0; i < 20; i += 1) expect((await take({})).ok).toBe(true);
    });

    it('shares the limit with a peer on the same store', async () => {
      const rule = { requestsPerSecond: 2, maxConcurrent: 5 };
      expect((await take(rule)).ok).toBe(true);
      expect((await take(rule, { via: fx.peer })).ok).toBe(true);
      expect((await take(rule, { via: fx.peer })).ok).toBe(false);
      expect((await take(rule)).ok).toBe(false);
    });

    it('checks and takes atomically: two holders racing never admit more than the limits', async () => {
      const perSecond = { requestsPerSecond: 5 };
      const racers = Array.from({ length: 40 }, (_, i) => take(perSecond, { via: i % 2 === 0 ? fx.limiter : fx.peer }));
      expect((await Promise.all(racers)).filter((r) => r.ok)).toHaveLength(5);

      const concurrent = { maxConcurrent: 3 };
      const concurrentKey = `${key}-concurrent`;
      const leases = await Promise.all(Array.from({ length: 40 }, (_, i) => take(concurrent, { key: concurrentKey, via: i % 2 === 0 ? fx.limiter : fx.peer })));
      expect(leases.filter((r) => r.ok)).toHaveLength(3);
      for (const refused of leases.filter((r) => !r.ok)) expect(refused).toMatchObject({ reason: 'concurrent' });
    });
  });
}
