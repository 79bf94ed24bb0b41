/**
 * What failed attempts of a node were billed for, kept as integer counters (tokens, and cost
 * in nano-dollars) so that accumulating never drifts — pure.
 */
import { emptyUsage, type Spend } from '../model/usage.js';

export type { Spend } from '../model/usage.js';

const USAGE_FIELDS = ['promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'totalTokens'] as const;
const COST_FIELDS = ['inputCost', 'outputCost', 'reasoningCost', 'totalCost'] as const;
const NANO = 1e9;

/** Counter increments for one billed attempt: `field → integer`. */
export function spendIncrements(spend: Spend): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of USAGE_FIELDS) out[f] = spend.usage[f];
  if (spend.cost) for (const f of COST_FIELDS) out[`${f}Nano`] = Math.round(spend.cost[f] * NANO);
  return out;
}

/** Rebuilds a Spend from accumulated counters. */
export function spendFromCounters(counters: Readonly<Record<string, number>>): Spend {
  const usage = emptyUsage();
  for (const f of USAGE_FIELDS) usage[f] = counters[f] ?? 0;
  const priced = COST_FIELDS.some((f) => counters[`${f}Nano`] !== undefined);
  const cost = priced
    ? { inputCost: (counters.inputCostNano ?? 0) / NANO, outputCost: (counters.outputCostNano ?? 0) / NANO, reasoningCost: (counters.reasoningCostNano ?? 0) / NANO, totalCost: (counters.totalCostNano ?? 0) / NANO }
    : null;
  return { usage, cost };
}
