/**
 * Every provider call goes through here: a circuit breaker (opossum) per (workspace, provider)
 * that fails fast while the provider is unhealthy, then the fleet-wide rate limit. Both refuse
 * with a `dependency` WeftError, which re-delays the node without spending an attempt.
 */
import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import type { WeftConfig } from '@weft/shared/config';
import { WeftError } from '@weft/shared/errors';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { RateLimiter, RateLimitLease } from '@weft/shared/ports';
import { isProviderHealthFailure } from './provider-health.js';

export interface GuardedCall {
  workspaceId: string;
  provider: string;
  /** How long a crashed caller may keep a concurrency slot: longer than the call can last. */
  leaseMs: number;
  /** The call's signal, handed to `fn`; its abort reason tells a node timeout from a cancel. */
  signal?: AbortSignal;
}

export interface ProviderGuardOptions {
  breaker: WeftConfig['breaker'];
  rateLimits: WeftConfig['providerRateLimits'];
  limiter: RateLimiter;
  logger: Logger;
  metrics: WeftMetrics;
  /** Jitter source; tests pass a fixed one. */
  random?: () => number;
}

type CircuitState = 'closed' | 'half-open' | 'open';

/** The values of weft_circuit_state. */
const STATE_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Buckets of opossum's rolling window (its default). */
const ROLLING_BUCKETS = 10;

/**
 * While a half-open circuit's probe is out, other calls wait about this long (or the reset
 * timeout, when shorter) before asking again.
 */
const PROBE_WAIT_MS = 1000;

/** Spread of retry hints, so that refused calls do not all come back in the same instant. */
const MAX_JITTER_MS = 1000;
const JITTER_FRACTION = 0.1;

interface GuardedAction {
  fn: (signal?: AbortSignal) => Promise<unknown>;
  signal: AbortSignal | undefined;
}

interface Circuit {
  key: string;
  workspaceId: string;
  provider: string;
  breaker: CircuitBreaker<[GuardedAction]>;
  state: CircuitState;
  openedAt: number;
  lastUsedAt: number;
}

function runAction(action: GuardedAction): Promise<unknown> {
  return action.fn(action.signal);
}

/** opossum's own refusal: the circuit is open, or half-open with its probe already out. */
function isBreakerRefusal(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'EOPENBREAKER';
}

/** True for the guard's own refusals: the provider was not called. */
export function isProviderGuardRefusal(err: unknown): boolean {
  return err instanceof WeftError && (err.code === 'LLM_CIRCUIT_OPEN' || err.code === 'PROVIDER_RATE_LIMITED');
}

export class ProviderGuard {
  private readonly options: ProviderGuardOptions;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly circuits = new Map<string, Circuit>();
  /** One timer rotates every breaker's window (opossum would start one per breaker). */
  private readonly rotator = new EventEmitter();
  private readonly rotateTimer: NodeJS.Timeout;

  constructor(options: ProviderGuardOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'provider-guard' });
    this.random = options.random ?? Math.random;
    this.rotator.setMaxListeners(0);
    const bucketMs = Math.max(1, Math.floor(options.breaker.rollingWindowMs / ROLLING_BUCKETS));
    this.rotateTimer = setInterval(() => {
      this.rotator.emit('rotate');
      this.evictIdle();
    }, bucketMs);
    this.rotateTimer.unref();
  }

  /**
   * Runs `fn` (the provider call, a whole stream included) under the (workspace, provider)
   * circuit and rate limit. Throws LLM_CIRCUIT_OPEN without calling `fn` while the circuit is
   * open, PROVIDER_RATE_LIMITED while the limit is reached, both with `retryAfterMs`; otherwise
   * answers what `fn` answers (or throws what it throws), and frees the slot when it settles.
   */
  async call<T>(target: GuardedCall, fn: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    const first = this.circuitFor(target);
    // Checked before the limiter: a call that cannot reach the provider takes no slot.
    if (!admits(first.breaker)) throw this.circuitOpen(first);
    const lease = await this.acquire(target);
    try {
      // The circuit may have been renewed or evicted while the limiter answered.
      const circuit = this.circuitFor(target);
      try {
        return (await circuit.breaker.fire({ fn, signal: target.signal })) as T;
      } catch (err) {
        if (isBreakerRefusal(err)) throw this.circuitOpen(circuit);
        throw err;
      }
    } finally {
      if (lease) await this.release(lease, target);
    }
  }

  /** Stops the shared timer and every breaker. */
  close(): void {
    clearInterval(this.rotateTimer);
    for (const circuit of this.circuits.values()) circuit.breaker.shutdown();
    this.circuits.clear();
  }

  private async acquire(target: GuardedCall): Promise<RateLimitLease | null> {
    const rule = this.options.rateLimits[target.provider];
    if (!rule || (rule.requestsPerSecond === undefined && rule.requestsPerMinute === undefined && rule.maxConcurrent === undefined)) return null;
    const result = await this.options.limiter.acquire({ key: `${target.workspaceId}/${target.provider}`, rule, leaseMs: target.leaseMs });
    if (result.ok) return result;
    this.options.metrics.providerThrottledTotal.inc({ provider: target.provider, reason: result.reason });
    const retryAfterMs = this.withJitter(result.retryAfterMs);
    this.log.debug({ workspaceId: target.workspaceId, provider: target.provider, reason: result.reason, retryAfterMs }, 'provider rate limit reached: call re-delayed');
    throw new WeftError('PROVIDER_RATE_LIMITED', `${target.provider}: the workspace's rate limit (${result.reason}) is reached; retrying in ${retryAfterMs} ms`, { retryAfterMs });
  }

  private async release(lease: RateLimitLease, target: GuardedCall): Promise<void> {
    try {
      await lease.release();
    } catch (err) {
      // The lease expires on its own; the call's own outcome matters more than this.
      this.log.warn({ workspaceId: target.workspaceId, provider: target.provider, err: err instanceof Error ? err.message : String(err) }, 'rate limit lease not released: it frees when it expires');
    }
  }

  private circuitOpen(circuit: Circuit): WeftError {
    const { resetTimeoutMs } = this.options.breaker;
    const untilHalfOpen = circuit.state === 'open' ? circuit.openedAt + resetTimeoutMs - Date.now() : Math.min(resetTimeoutMs, PROBE_WAIT_MS);
    const retryAfterMs = this.withJitter(Math.max(1, untilHalfOpen));
    return new WeftError('LLM_CIRCUIT_OPEN', `${circuit.provider}: circuit open after repeated provider failures; retrying in ${retryAfterMs} ms`, { retryAfterMs });
  }

  private withJitter(ms: number): number {
    return Math.ceil(ms + this.random() * Math.min(MAX_JITTER_MS, ms * JITTER_FRACTION));
  }

  private circuitFor(target: GuardedCall): Circuit {
    const key = `${target.workspaceId}/${target.provider}`;
    const now = Date.now();
    const existing = this.circuits.get(key);
    if (existing) {
      existing.lastUsedAt = now;
      return existing;
    }
    const { breaker: config } = this.options;
    const breaker = new CircuitBreaker<[GuardedAction], unknown>(runAction, {
      name: key,
      // Weft bounds calls itself (provider timeout, node timeout through the signal).
      timeout: false,
      resetTimeout: config.resetTimeoutMs,
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      rollingCountTimeout: config.rollingWindowMs,
      rollingCountBuckets: ROLLING_BUCKETS,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.rotator,
      // Filtered errors count as successes: a provider that answers 400 is up.
      errorFilter: (err: unknown, action?: GuardedAction) => !isProviderHealthFailure(err, action?.signal),
    });
    const circuit: Circuit = { key, workspaceId: target.workspaceId, provider: target.provider, breaker, state: 'closed', openedAt: 0, lastUsedAt: now };
    breaker.on('open', () => { this.transition(circuit, 'open'); });
    breaker.on('halfOpen', () => { this.transition(circuit, 'half-open'); });
    breaker.on('close', () => { this.transition(circuit, 'closed'); });
    this.circuits.set(key, circuit);
    this.publishState(target.provider);
    return circuit;
  }

  private transition(circuit: Circuit, state: CircuitState): void {
    // Events of a renewed or evicted breaker (calls still settling on it) change nothing.
    if (this.circuits.get(circuit.key) !== circuit) return;
    const from = circuit.state;
    circuit.state = state;
    const context = { workspaceId: circuit.workspaceId, provider: circuit.provider };
    switch (state) {
      case 'open': {
        circuit.openedAt = Date.now();
        const stats = circuit.breaker.stats;
        this.log.warn({ ...context, from, failures: stats.failures, calls: stats.fires, resetTimeoutMs: this.options.breaker.resetTimeoutMs }, 'provider circuit opened: calls fail fast and are re-delayed');
        break;
      }
      case 'half-open':
        this.log.info(context, 'provider circuit half-open: the next call probes the provider');
        break;
      case 'closed':
        this.log.info({ ...context, from }, 'provider circuit closed: the provider answers again');
        // A recovered provider starts from a clean window: the failures that opened the
        // circuit must not re-open it at the first blip.
        this.drop(circuit);
        break;
    }
    this.publishState(circuit.provider);
  }

  /** Closed circuits unused for a whole window hold no information: forget them. */
  private evictIdle(): void {
    const horizon = Date.now() - this.options.breaker.rollingWindowMs;
    for (const circuit of [...this.circuits.values()]) {
      if (circuit.state === 'closed' && circuit.lastUsedAt < horizon) this.drop(circuit);
    }
  }

  private drop(circuit: Circuit): void {
    this.circuits.delete(circuit.key);
    // After the current event: opossum is still inside the breaker's own call.
    setImmediate(() => { circuit.breaker.shutdown(); });
  }

  /** The gauge is labelled by provider only: it shows the worst circuit of that provider. */
  private publishState(provider: string): void {
    let worst = 0;
    for (const circuit of this.circuits.values()) {
      if (circuit.provider === provider) worst = Math.max(worst, STATE_VALUE[circuit.state]);
    }
    this.options.metrics.circuitState.set({ provider }, worst);
  }
}

/** Whether the breaker lets a call through: closed, or half-open with its probe not yet out. */
function admits(breaker: CircuitBreaker<[GuardedAction]>): boolean {
  return breaker.closed || breaker.pendingClose;
}
