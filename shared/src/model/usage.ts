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

/** What an attempt was billed for. */
export interface Spend {
  usage: Usage;
  /** Null when no attempt had a price. */
  cost: Cost | null;
}

export function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 };
}
