/** What a benched system reports, and latency summaries. */
import type { ChainPhases } from './chain-phases.js';

/** What one batch of chains started at once produced. */
export interface BatchResult {
  /** From the enqueue of the batch to the end of its last chain. */
  wallMs: number;
  /** Per chain, from the enqueue of the batch to the end of the chain. */
  latenciesMs: number[];
  /** Weft only: from the enqueue until every execution's final row is in Postgres. */
  durableMs?: number;
  /** Weft only: SQL statements of the bench itself (the api-side row inserts, polls for final rows). */
  benchStatements?: Map<string, number>;
  /** Weft only, single-chain batches: where the chain's time went, from its events. */
  phases?: ChainPhases;
}

/** A system that runs chains of K nodes (jobs); each call starts `count` chains at once. */
export interface ChainSystem {
  runBatch(count: number): Promise<BatchResult>;
}

/** Nearest-rank percentile; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}
