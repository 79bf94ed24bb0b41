import type { RedisClient } from './connection.js';
import { spendFromCounters, spendIncrements } from '../../engine/spend.js';
import type { Spend } from '../../model/usage.js';
import type { SpendLedger } from '../../ports/spend-ledger.js';
import { executionKeys } from './keys.js';
import { execResults } from './redis-replies.js';

/**
 * The spend ledger in the execution's `spent` hash (`<nodeId>|<counter>` → integer), one of the
 * execution's keys: expire-execution.lua gives it the TTL with the rest of its hot state.
 */
export class RedisSpendLedger implements SpendLedger {
  private readonly redis: RedisClient;
  private readonly prefix: string;

  /** `redis`: a shared command connection; the caller owns (and closes) it. */
  constructor(options: { redis: RedisClient; prefix: string }) {
    this.redis = options.redis;
    this.prefix = options.prefix;
  }

  async record(input: { executionId: string; nodeId: string; spend: Spend }): Promise<void> {
    const key = executionKeys(this.prefix, input.executionId).spent;
    const tx = this.redis.multi();
    for (const [field, value] of Object.entries(spendIncrements(input.spend))) tx.hincrby(key, `${input.nodeId}|${field}`, value);
    execResults(await tx.exec());
  }

  async get(executionId: string): Promise<Record<string, Spend>> {
    const raw = await this.redis.hgetall(executionKeys(this.prefix, executionId).spent);
    const byNode: Record<string, Record<string, number>> = {};
    for (const [field, value] of Object.entries(raw)) {
      const at = field.lastIndexOf('|');
      (byNode[field.slice(0, at)] ??= {})[field.slice(at + 1)] = Number(value);
    }
    return Object.fromEntries(Object.entries(byNode).map(([nodeId, counters]) => [nodeId, spendFromCounters(counters)]));
  }
}
