import { randomUUID } from 'node:crypto';
import {
  CONCURRENCY_RETRY_HINT_MS,
  RATE_LIMIT_WINDOW_MS,
  type RateLimitAcquireInput,
  type RateLimitAcquireResult,
  type RateLimitReason,
  type RateLimiter,
} from '../../ports/rate-limiter.js';

export interface MemoryRateLimiterOptions {
  /** Milliseconds on a clock that never goes back; tests may pass a controlled one. */
  now?: () => number;
}

interface KeyState {
  /** Start times (ms) of the last minute, oldest first. */
  starts: number[];
  /** Lease id → expiry (ms). */
  held: Map<string, number>;
}

/**
 * The in-process limiter of embedded mode, with the Redis script's semantics
 * (lua/acquire-rate-limit.lua): sliding windows over start times, expiring leases, and a
 * refusal that takes nothing. Single-threaded, so check-and-take is atomic by construction.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly now: () => number;
  private readonly keys = new Map<string, KeyState>();
  private lastSweep = 0;

  constructor(options: MemoryRateLimiterOptions = {}) {
    // Monotonic: the windows must not stretch or shrink when the wall clock is adjusted.
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
  }

  acquire(input: RateLimitAcquireInput): Promise<RateLimitAcquireResult> {
    const now = Math.floor(this.now());
    const state = this.stateOf(input.key, now);
    const { rule } = input;
    let wait = 0;
    let reason: RateLimitReason = 'second';
    const refuse = (frees: number, why: RateLimitReason): void => {
      if (frees > wait) {
        wait = frees;
        reason = why;
      }
    };

    const perSecond = rule.requestsPerSecond ?? 0;
    const perMinute = rule.requestsPerMinute ?? 0;
    const maxConcurrent = rule.maxConcurrent ?? 0;
    const windowFrees = (limit: number, windowMs: number): number => {
      if (limit <= 0) return 0;
      const inWindow = state.starts.filter((t) => t > now - windowMs);
      if (inWindow.length < limit) return 0;
      const blocking = inWindow[inWindow.length - limit] ?? now;
      return Math.max(1, blocking + windowMs - now);
    };
    refuse(windowFrees(perSecond, RATE_LIMIT_WINDOW_MS.second), 'second');
    refuse(windowFrees(perMinute, RATE_LIMIT_WINDOW_MS.minute), 'minute');
    if (maxConcurrent > 0 && state.held.size >= maxConcurrent) {
      const expiries = [...state.held.values()].sort((a, b) => a - b);
      const blocking = expiries[state.held.size - maxConcurrent] ?? now;
      refuse(Math.max(1, Math.min(CONCURRENCY_RETRY_HINT_MS, blocking - now)), 'concurrent');
    }
    if (wait > 0) return Promise.resolve({ ok: false, retryAfterMs: wait, reason });

    if (perSecond > 0 || perMinute > 0) state.starts.push(now);
    const leaseId = randomUUID();
    if (maxConcurrent > 0) state.held.set(leaseId, now + Math.max(1, Math.ceil(input.leaseMs)));
    return Promise.resolve({
      ok: true,
      release: () => {
        state.held.delete(leaseId);
        return Promise.resolve();
      },
    });
  }

  close(): Promise<void> {
    this.keys.clear();
    return Promise.resolve();
  }

  /** The key's state with expired starts and leases dropped; idle keys are forgotten once a minute. */
  private stateOf(key: string, now: number): KeyState {
    if (now - this.lastSweep >= RATE_LIMIT_WINDOW_MS.minute) {
      this.lastSweep = now;
      for (const [other, s] of this.keys) if (isIdle(s, now)) this.keys.delete(other);
    }
    let state = this.keys.get(key);
    if (!state) {
      state = { starts: [], held: new Map() };
      this.keys.set(key, state);
    }
    const horizon = now - RATE_LIMIT_WINDOW_MS.minute;
    let drop = 0;
    while (drop < state.starts.length && (state.starts[drop] ?? Infinity) <= horizon) drop += 1;
    if (drop > 0) state.starts.splice(0, drop);
    for (const [id, expiry] of state.held) if (expiry <= now) state.held.delete(id);
    return state;
  }
}

function isIdle(state: KeyState, now: number): boolean {
  const last = state.starts.at(-1);
  return (last === undefined || last <= now - RATE_LIMIT_WINDOW_MS.minute) && [...state.held.values()].every((e) => e <= now);
}
