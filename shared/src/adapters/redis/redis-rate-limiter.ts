import { randomUUID } from 'node:crypto';
import type { RedisClient } from './connection.js';
import {
  CONCURRENCY_RETRY_HINT_MS,
  type RateLimitAcquireInput,
  type RateLimitAcquireResult,
  type RateLimitReason,
  type RateLimiter,
} from '../../ports/rate-limiter.js';
import { defineWeftScripts, type WeftScripts } from './lua/scripts.js';

export interface RateLimitKeys {
  /** zset: lease id → start time (ms, Redis clock), the last minute of starts */
  starts: string;
  /** zset: lease id → lease expiry (ms, Redis clock) */
  held: string;
}

/** One hash tag per limited key, so both zsets share a Cluster slot and one script may touch them. */
export function rateLimitKeys(prefix: string, key: string): RateLimitKeys {
  const base = `${prefix}:{rl:${key}}`;
  return { starts: `${base}:starts`, held: `${base}:held` };
}

export interface RedisRateLimiterOptions {
  /** Shared command connection; the caller owns (and closes) it. */
  redis: RedisClient;
  prefix: string;
}

const REASONS: ReadonlySet<string> = new Set<RateLimitReason>(['second', 'minute', 'concurrent']);

/** The fleet-wide limiter: every check and the take are one Lua script (lua/acquire-rate-limit.lua). */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly scripts: WeftScripts;

  constructor(options: RedisRateLimiterOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.scripts = defineWeftScripts(options.redis);
  }

  async acquire(input: RateLimitAcquireInput): Promise<RateLimitAcquireResult> {
    const keys = rateLimitKeys(this.prefix, input.key);
    const leaseId = randomUUID();
    const { rule } = input;
    const reply = await this.scripts.weftAcquireRateLimit([keys.starts, keys.held], [
      leaseId,
      rule.requestsPerSecond ?? 0,
      rule.requestsPerMinute ?? 0,
      rule.maxConcurrent ?? 0,
      Math.max(1, Math.ceil(input.leaseMs)),
      CONCURRENCY_RETRY_HINT_MS,
    ]);
    if (!Array.isArray(reply)) throw new Error(`rate limit script answered ${String(reply)}`);
    if (reply[0] === 1) {
      const holds = (rule.maxConcurrent ?? 0) > 0;
      return {
        ok: true,
        release: async () => {
          if (holds) await this.redis.zrem(keys.held, leaseId);
        },
      };
    }
    const retryAfterMs = Number(reply[1]);
    const reason = String(reply[2]);
    if (!Number.isFinite(retryAfterMs) || !REASONS.has(reason)) throw new Error(`rate limit script answered ${JSON.stringify(reply)}`);
    return { ok: false, retryAfterMs, reason: reason as RateLimitReason };
  }

  close(): Promise<void> {
    // The connection belongs to the caller; nothing else is held.
    return Promise.resolve();
  }
}
