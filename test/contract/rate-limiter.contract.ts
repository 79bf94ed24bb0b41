/**
 * The RateLimiter conformance suite: every adapter runs it (rate-limiter.test.ts). Sliding
 * windows per second and per minute, concurrent leases that expire, atomic check-and-take
 * (two holders of the same store racing), and refusals that take nothing.
 *
 * Time is read from the limiter's own clock, never assumed: each acquire is bracketed by two
 * readings of that clock, so what a refusal must answer is known to within those readings
 * however long the machine took, and "later" means the clock has reached a given reading.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONCURRENCY_RETRY_HINT_MS, RATE_LIMIT_WINDOW_MS, type RateLimitAcquireResult, type RateLimiter, type RateLimitRule } from '../../shared/src/ports/rate-limiter.js';

/** The clock the limiter decides by (Redis' TIME, or a controlled one), in whole milliseconds. */
export interface LimiterClock {
  now(): Promise<number>;
  /** Resolves once `now()` reads at least `ms`: a controlled clock is set there, a real one is waited for. */
  reach(ms: number): Promise<void>;
}

export interface RateLimiterFixture {
  limiter: RateLimiter;
  /** Another limiter on the same store (with Redis: another connection), as a second worker has. */
  peer: RateLimiter;
  clock: LimiterClock;
  cleanup(): Promise<void>;
}

const LEASE_MS = 30_000;

/** An acquire, with the limiter's clock read just before and just after it: it decided at some time in [before, after]. */
interface Timed {
  result: RateLimitAcquireResult;
  before: number;
  after: number;
}

/** The hint a refusal at `refused` must answer when the start `blocking` is what has to leave a window of `windowMs`. */
function expectHint(refused: Timed, blocking: Timed, windowMs: number): number {
  if (refused.result.ok) throw new Error('admitted where the window was full');
  const { retryAfterMs } = refused.result;
  expect(retryAfterMs).toBeGreaterThanOrEqual(Math.max(1, blocking.before + windowMs - refused.after));
  expect(retryAfterMs).toBeLessThanOrEqual(Math.max(1, blocking.after + windowMs - refused.before));
  return retryAfterMs;
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
    const timedTake = async (rule: RateLimitRule, options: { leaseMs?: number } = {}): Promise<Timed> => {
      const before = await fx.clock.now();
      const result = await take(rule, options);
      return { result, before, after: await fx.clock.now() };
    };

    it('admits requestsPerSecond starts, then refuses with the time until the oldest leaves the second', async () => {
      const rule = { requestsPerSecond: 3 };
      const oldest = await timedTake(rule);
      expect(oldest.result.ok).toBe(true);
      for (let i = 0; i < 2; i += 1) expect((await take(rule)).ok).toBe(true);
      const refused = await timedTake(rule);
      expect(refused.result).toMatchObject({ ok: false, reason: 'second' });
      expect(expectHint(refused, oldest, RATE_LIMIT_WINDOW_MS.second)).toBeLessThanOrEqual(RATE_LIMIT_WINDOW_MS.second);
    });

    it('slides the window: a slot frees when its own start is a second old, not at a fixed boundary', async () => {
      const rule = { requestsPerSecond: 2 };
      const first = await timedTake(rule);
      expect(first.result.ok).toBe(true);
      await fx.clock.reach(first.after + 500);
      const second = await timedTake(rule);
      expect(second.result.ok).toBe(true);
      // The first start is the one that must leave: the hint is when it is a window old, to
      // within the clock readings around the two acquires (about 550 ms when nothing is slow).
      const refused = await timedTake(rule);
      expect(refused.result).toMatchObject({ ok: false, reason: 'second' });
      const hint = expectHint(refused, first, RATE_LIMIT_WINDOW_MS.second);
      // A refusal took nothing: waiting for the hint is enough.
      expect((await take(rule)).ok).toBe(false);
      await fx.clock.reach(refused.after + hint);
      const third = await timedTake(rule);
      expect(third.result.ok).toBe(true);
      // Now the second start (at least 500 ms after the first) blocks, not a boundary a second after the first.
      const again = await timedTake(rule);
      expect(again.result).toMatchObject({ ok: false, reason: 'second' });
      expectHint(again, second, RATE_LIMIT_WINDOW_MS.second);
    });

    it('limits starts per rolling minute', async () => {
      const rule = { requestsPerMinute: 2 };
      const oldest = await timedTake(rule);
      expect(oldest.result.ok).toBe(true);
      expect((await take(rule)).ok).toBe(true);
      const refused = await timedTake(rule);
      expect(refused.result).toMatchObject({ ok: false, reason: 'minute' });
      expect(expectHint(refused, oldest, RATE_LIMIT_WINDOW_MS.minute)).toBeLessThanOrEqual(RATE_LIMIT_WINDOW_MS.minute);
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
      const lease = await timedTake(rule, { leaseMs: 150 });
      expect(lease.result.ok).toBe(true);
      const refused = await timedTake(rule);
      if (refused.result.ok) throw new Error('a second lease was admitted');
      // The hint is the lease's expiry (sooner than the concurrency hint), to within the readings.
      expectHint(refused, lease, 150);
      // Nobody releases it: once the clock passes its expiry, the slot is free again.
      await fx.clock.reach(lease.after + 150);
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
