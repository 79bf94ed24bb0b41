/**
 * How a retry's delay reaches BullMQ. The node's backoff policy travels in the job's backoff
 * options under a type only Weft's strategy knows; the consumer lets retryDecision choose the
 * delay and hands it to BullMQ's custom backoff strategy with the error it throws.
 */
import type { BackoffOptions, MinimalJob } from 'bullmq';
import type { BackoffPolicy } from '../../flow/types.js';

const BACKOFF_PREFIX = 'weft-';
/** Marks a job enqueued without a policy: the strategy then applies backoffDelay's default. */
const DEFAULT_BACKOFF_TYPE = `${BACKOFF_PREFIX}default`;

/** The policy travels in the job's backoff options under a type only our strategy knows. */
export function encodeBackoff(policy: BackoffPolicy | undefined): BackoffOptions {
  if (!policy) return { type: DEFAULT_BACKOFF_TYPE };
  return { type: `${BACKOFF_PREFIX}${policy.type}`, delay: policy.delayMs };
}

export function decodeBackoff(type: string | undefined, delay: number | undefined): BackoffPolicy | undefined {
  if (type === `${BACKOFF_PREFIX}fixed`) return { type: 'fixed', delayMs: delay ?? 0 };
  if (type === `${BACKOFF_PREFIX}exponential`) return { type: 'exponential', delayMs: delay ?? 0 };
  return undefined;
}

/** The delay retryDecision chose for each error the processor threw for a retry. */
const decidedDelays = new WeakMap<Error, number>();

/** The error to throw for a retry (its identity kept), carrying the decided delay to the strategy. */
export function retryWith(err: unknown, weft: Error, delayMs: number): Error {
  const thrown = err instanceof Error ? err : weft;
  decidedDelays.set(thrown, delayMs);
  return thrown;
}

/**
 * BullMQ asks this for the delay of a retry, with the error the processor threw: the delay
 * retryDecision chose. An error that did not come through the processor (none should) retries
 * at once.
 */
export function weftBackoffStrategy(_attemptsMade: number, _type?: string, err?: Error, _job?: MinimalJob): number {
  return (err === undefined ? undefined : decidedDelays.get(err)) ?? 0;
}
