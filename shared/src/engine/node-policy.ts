/** What decides a node's retry budget — pure. Whether its failure ends the execution: commit-intent.ts. */
import { nodeTypeSpecs } from '../flow/node-type-specs.js';
import type { BackoffPolicy, FlowNode } from '../flow/types.js';

export interface EffectiveRetry {
  attempts: number;
  backoff: BackoffPolicy;
}

export function retryPolicyFor(node: FlowNode): EffectiveRetry {
  // The type's own default (its spec): a new node type cannot be added without one.
  const fallback = nodeTypeSpecs[node.type].retry;
  if (!node.retry) return fallback;
  return { attempts: node.retry.attempts, backoff: node.retry.backoff ?? fallback.backoff };
}
