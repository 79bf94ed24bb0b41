/** What decides a node's retry budget and whether its failure ends the execution — pure. */
import type { BackoffPolicy, FlowNode } from '../flow/types.js';

export interface EffectiveRetry {
  attempts: number;
  backoff: BackoffPolicy;
}

const DEFAULT_RETRY: Record<FlowNode['type'], EffectiveRetry> = {
  // Provider calls fail transiently (429, 5xx, resets): retry by default.
  llm: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000 } },
  // A JSONata expression gives the same answer every time: retrying cannot help.
  transform: { attempts: 1, backoff: { type: 'fixed', delayMs: 0 } },
  condition: { attempts: 1, backoff: { type: 'fixed', delayMs: 0 } },
  switch: { attempts: 1, backoff: { type: 'fixed', delayMs: 0 } },
  // 5xx, 429, timeouts and resets are worth retrying; set retry.attempts 1 for non-idempotent calls.
  http: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000 } },
  // Evaluating items and expanding is cheap and idempotent; item nodes have their own retry.
  map: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000 } },
  // Waiting is not work that fails transiently; the node processor suspends it.
  wait: { attempts: 1, backoff: { type: 'fixed', delayMs: 0 } },
};

export function retryPolicyFor(node: FlowNode): EffectiveRetry {
  const fallback = DEFAULT_RETRY[node.type];
  if (!node.retry) return fallback;
  return { attempts: node.retry.attempts, backoff: node.retry.backoff ?? fallback.backoff };
}

/** A failed node fails the execution unless it opted into `onError: "continue"`. */
export function failureEndsExecution(node: FlowNode): boolean {
  return (node.onError ?? 'fail') === 'fail';
}
