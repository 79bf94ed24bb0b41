import { spendFromCounters, spendIncrements } from '../../engine/spend.js';
import type { Spend } from '../../model/usage.js';
import type { SpendLedger } from '../../ports/spend-ledger.js';

/**
 * The spend ledger in memory, as counters like the Redis hash's HINCRBY. The MemoryStateStore
 * given this ledger forgets an execution's entries when its hot state expires.
 */
export class MemorySpendLedger implements SpendLedger {
  /** executionId → nodeId → counters. */
  private readonly spent = new Map<string, Map<string, Record<string, number>>>();

  record(input: { executionId: string; nodeId: string; spend: Spend }): Promise<void> {
    let nodes = this.spent.get(input.executionId);
    if (!nodes) {
      nodes = new Map();
      this.spent.set(input.executionId, nodes);
    }
    const counters = nodes.get(input.nodeId) ?? {};
    for (const [field, value] of Object.entries(spendIncrements(input.spend))) counters[field] = (counters[field] ?? 0) + value;
    nodes.set(input.nodeId, counters);
    return Promise.resolve();
  }

  get(executionId: string): Promise<Record<string, Spend>> {
    const nodes = this.spent.get(executionId);
    if (!nodes) return Promise.resolve({});
    return Promise.resolve(Object.fromEntries([...nodes].map(([nodeId, counters]) => [nodeId, spendFromCounters(counters)])));
  }

  /** Drops an execution's entries (its hot state expired). */
  forgetExecution(executionId: string): void {
    this.spent.delete(executionId);
  }
}
