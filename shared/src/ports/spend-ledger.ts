import type { Spend } from '../model/usage.js';

/**
 * What failed attempts of an execution's nodes were billed for, kept until the execution's hot
 * state expires, so that a node's final result counts the spend of its earlier attempts.
 */
export interface SpendLedger {
  /** Adds what a failed attempt of a node was billed for (atomic counters). */
  record(input: { executionId: string; nodeId: string; spend: Spend }): Promise<void>;
  /** Billed spend of failed attempts, per node. */
  get(executionId: string): Promise<Record<string, Spend>>;
}
