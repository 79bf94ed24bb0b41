/** Sums of usage and cost over node results — pure. */
import type { Cost, NodeResult, Usage } from '../model/index.js';
import { emptyUsage } from '../model/index.js';

/** Adds in micro-units so that sums of many small costs do not drift. */
function addMoney(a: number, b: number): number {
  return Math.round((a + b) * 1e9) / 1e9;
}

export function sumUsage(results: Iterable<Pick<NodeResult, 'usage'>>): Usage {
  const total = emptyUsage();
  for (const r of results) {
    if (!r.usage) continue;
    total.promptTokens += r.usage.promptTokens;
    total.completionTokens += r.usage.completionTokens;
    total.reasoningTokens += r.usage.reasoningTokens;
    total.cachedTokens += r.usage.cachedTokens;
    total.totalTokens += r.usage.totalTokens;
  }
  return total;
}

/** Null when no result carried a cost (no priced LLM node ran). */
export function sumCost(results: Iterable<Pick<NodeResult, 'cost'>>): Cost | null {
  let total: Cost | null = null;
  for (const r of results) {
    if (!r.cost) continue;
    total ??= { inputCost: 0, outputCost: 0, reasoningCost: 0, totalCost: 0 };
    total.inputCost = addMoney(total.inputCost, r.cost.inputCost);
    total.outputCost = addMoney(total.outputCost, r.cost.outputCost);
    total.reasoningCost = addMoney(total.reasoningCost, r.cost.reasoningCost);
    total.totalCost = addMoney(total.totalCost, r.cost.totalCost);
  }
  return total;
}

export interface Prices {
  inputPer1M: number;
  outputPer1M: number;
  reasoningPer1M: number;
  cachedPer1M: number;
}

/**
 * Cost of one call: tokens / 1M × price per kind. Cached prompt tokens are billed at the
 * cached price instead of the input price; reasoning tokens at the reasoning price (they
 * are part of completion tokens at providers that report both, so they are not billed twice).
 */
export function computeCost(usage: Usage, prices: Prices): Cost {
  // Kept in nano-dollars: cheap models cost fractions of a micro-dollar per call.
  const micro = (tokens: number, per1M: number): number => Math.round(tokens * per1M * 1000) / 1e9;
  const uncachedPrompt = Math.max(0, usage.promptTokens - usage.cachedTokens);
  const plainCompletion = Math.max(0, usage.completionTokens - usage.reasoningTokens);
  const inputCost = addMoney(micro(uncachedPrompt, prices.inputPer1M), micro(usage.cachedTokens, prices.cachedPer1M));
  const outputCost = micro(plainCompletion, prices.outputPer1M);
  const reasoningCost = micro(usage.reasoningTokens, prices.reasoningPer1M);
  return { inputCost, outputCost, reasoningCost, totalCost: addMoney(addMoney(inputCost, outputCost), reasoningCost) };
}
