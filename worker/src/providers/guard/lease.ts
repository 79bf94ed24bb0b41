import { DEFAULT_LLM_TIMEOUT_MS } from '../llm-timeout.js';

/** Slack past the call's own bound before an unreleased slot frees itself. */
const LEASE_MARGIN_MS = 5000;

/**
 * How long an LLM call may hold a concurrency slot when its worker dies before releasing it:
 * the node's timeout when it has one, else the adapters' own response timeout, plus a margin.
 */
export function llmLeaseMs(nodeTimeoutMs: number | undefined): number {
  return (nodeTimeoutMs ?? DEFAULT_LLM_TIMEOUT_MS) + LEASE_MARGIN_MS;
}
