/** Token usage, its price, and what failed attempts were billed for. */

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
}

export interface Cost {
  inputCost: number;
  outputCost: number;
  reasoningCost: number;
  totalCost: number;
}

/**
 * How a node run's cost was priced: `priced` from the price table (the model's own row, or the
 * row a dated or `-latest` alias resolves to), `fallback` with the workspace's fallback price,
 * `unpriced` not at all (its cost is null, its tokens are not counted in any cost total).
 */
export type PricingStatus = 'priced' | 'fallback' | 'unpriced';

export const PRICING_STATUSES: readonly PricingStatus[] = ['priced', 'fallback', 'unpriced'];

/** What an attempt was billed for. */
export interface Spend {
  usage: Usage;
  /** Null when no attempt had a price. */
  cost: Cost | null;
  /** How `cost` was priced, when the biller knew (an LLM executor does). */
  pricing?: PricingStatus;
}

export function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 };
}
