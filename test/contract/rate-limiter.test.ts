import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../shared/src/adapters/memory/memory-rate-limiter.js';
import { RedisRateLimiter, rateLimitKeys } from '../../shared/src/adapters/redis/redis-rate-limiter.js';
import { createTestServices, uniqueId, type TestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { rateLimiterContract } from './rate-limiter.contract.js';

rateLimiterContract('memory', () => {
  // A controlled clock: the contract's "later" costs no waiting here.
  let now = 1_000_000;
  const limiter = new MemoryRateLimiter({ now: () => now });
  const clock = {
    now: () => Promise.resolve(now),
    reach: (ms: number) => {
      now = Math.max(now, ms);
      return Promise.resolve();
    },
  };
  return Promise.resolve({ limiter, peer: limiter, clock, cleanup: () => limiter.close() });
});

/** Redis' own clock, as the limiter's script reads it (TIME, whole milliseconds). */
function redisClock(redis: Redis) {
  const now = async (): Promise<number> => {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };
  return {
    now,
    async reach(ms: number): Promise<void> {
      await waitFor(async () => (await now()) >= ms, { timeoutMs: 10_000, intervalMs: 5, message: `Redis clock at ${ms}` });
    },
  };
}

describe('MemoryRateLimiter specifics', () => {
  it('never lets more than requestsPerSecond start in any rolling second (controlled clock)', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter({ now: () => now });
    const rule = { requestsPerSecond: 3 };
    const admitted: number[] = [];
    // A caller every 70 ms for 5 s, retrying nothing: only the limiter decides.
    for (let t = 0; t < 5000; t += 70) {
      now = 1_000_000 + t;
      if ((await limiter.acquire({ key: 'k', rule, leaseMs: 1000 })).ok) admitted.push(now);
    }
    for (const start of admitted) expect(admitted.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(3);
    // …and it is not stingier than that: about 3 per second over 5 s.
    expect(admitted.length).toBeGreaterThanOrEqual(14);
  });

  it('answers exactly when the blocking start leaves the window', async () => {
    let now = 5000;
    const limiter = new MemoryRateLimiter({ now: () => now });
    const rule = { requestsPerSecond: 2, requestsPerMinute: 100 };
    await limiter.acquire({ key: 'k', rule, leaseMs: 1000 });
    now = 5300;
    await limiter.acquire({ key: 'k', rule, leaseMs: 1000 });
    now = 5400;
    expect(await limiter.acquire({ key: 'k', rule, leaseMs: 1000 })).toEqual({ ok: false, retryAfterMs: 650, reason: 'second' });
    now = 6050;
    expect((await limiter.acquire({ key: 'k', rule, leaseMs: 1000 })).ok).toBe(true);
    expect(await limiter.acquire({ key: 'k', rule, leaseMs: 1000 })).toEqual({ ok: false, retryAfterMs: 300, reason: 'second' });
  });
});

describe('redis', () => {
  let svc: TestServices;
  let redis: Redis;
  let other: Redis;
  beforeAll(async () => {
    svc = await createTestServices();
    redis = new Redis(svc.redisUrl);
    other = new Redis(svc.redisUrl);
  });
  afterAll(async () => {
    await redis.quit();
    await other.quit();
    await svc.cleanup();
  });

  rateLimiterContract('redis', () => {
    const prefix = `${svc.prefix}:${uniqueId()}`;
    const limiter = new RedisRateLimiter({ redis, prefix });
    const peer = new RedisRateLimiter({ redis: other, prefix });
    return Promise.resolve({
      limiter,
      peer,
      clock: redisClock(redis),
      async cleanup() {
        await limiter.close();
        await peer.close();
      },
    });
  });

  describe('RedisRateLimiter specifics', () => {
    it('keeps a key in one hash-tagged slot, with TTLs so idle keys go away', async () => {
      const prefix = `${svc.prefix}:${uniqueId()}`;
      const limiter = new RedisRateLimiter({ redis, prefix });
      const lease = await limiter.acquire({ key: 'ws1/openai', rule: { requestsPerSecond: 5, maxConcurrent: 2 }, leaseMs: 5000 });
      expect(lease.ok).toBe(true);
      const keys = rateLimitKeys(prefix, 'ws1/openai');
      expect(keys.starts).toBe(`${prefix}:{rl:ws1/openai}:starts`);
      expect(keys.held).toBe(`${prefix}:{rl:ws1/openai}:held`);
      const startsTtl = await redis.pttl(keys.starts);
      const heldTtl = await redis.pttl(keys.held);
      expect(startsTtl).toBeGreaterThan(59_000);
      expect(startsTtl).toBeLessThanOrEqual(61_050);
      expect(heldTtl).toBeGreaterThan(5000);
      expect(heldTtl).toBeLessThanOrEqual(6000);
      if (lease.ok) await lease.release();
      expect(await redis.zcard(keys.held)).toBe(0);
      expect(await redis.zcard(keys.starts)).toBe(1);
    });

    it('takes the time from Redis: start scores follow the server clock, not the client', async () => {
      const prefix = `${svc.prefix}:${uniqueId()}`;
      const limiter = new RedisRateLimiter({ redis, prefix });
      const [seconds, micros] = await redis.time();
      await limiter.acquire({ key: 'k', rule: { requestsPerSecond: 5 }, leaseMs: 1000 });
      const [, score] = await redis.zrange(rateLimitKeys(prefix, 'k').starts, '0', '0', 'WITHSCORES');
      const serverMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      expect(Number(score)).toBeGreaterThanOrEqual(serverMs);
      expect(Number(score)).toBeLessThan(serverMs + 1000);
    });
  });
});
