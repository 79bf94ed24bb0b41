/**
 * Which price a model's tokens are billed at — pure. One rule, shared by the worker (which
 * prices every call), the start of an execution (which refuses a budget it could not enforce)
 * and the metrics (whose `model` label must stay bounded).
 *
 * The alias rule, in order:
 * 1. the model's own row in the price table, when it has one (an operator can price any
 *    snapshot on its own with `PUT /v1/models/{provider}/{model}`);
 * 2. else, when the name ends in one version marker — `-latest`, a date (`-2024-08-06`,
 *    `-20241022`) or a three-digit revision (`-001`) — the row of the name without it
 *    (`claude-3-5-haiku-20241022` and `claude-3-5-haiku-latest` → `claude-3-5-haiku`). Only one
 *    marker is removed, and only at the end: no prefix matching, so `gpt-4o-mini-…` never
 *    falls to `gpt-4o`, and a fine-tune (`ft:gpt-4o-mini:org::id`, billed above its base) is
 *    never priced as its base;
 * 3. else the workspace's fallback price, when it set one;
 * 4. else the model is unpriced: its cost is null and marked so.
 */
import type { NodeResult, PricingStatus } from '../model/index.js';
import type { Prices } from './totals.js';

const VERSION_SUFFIX = /-(?:latest|\d{4}-\d{2}-\d{2}|\d{8}|\d{3})$/;

/** The label a model's metrics carry when the price table does not name it. */
export const OTHER_MODEL_LABEL = 'other';

/** The name an alias stands for (`gpt-4o-2024-08-06` → `gpt-4o`), or null when it is not one. */
export function priceAliasOf(model: string): string | null {
  const base = model.replace(VERSION_SUFFIX, '');
  return base !== model && base.length > 0 ? base : null;
}

/** A model's price, and where it came from. */
export type PriceQuote<P extends Prices = Prices> =
  | { pricing: 'priced'; prices: P; pricedAs: string }
  | { pricing: 'fallback'; prices: P; pricedAs: null }
  | { pricing: 'unpriced'; prices: null; pricedAs: null };

/** Applies the alias rule above to one provider's price table (`find`: its row for a model name). */
export function quotePrice<P extends Prices>(input: {
  model: string;
  find: (model: string) => P | null | undefined;
  fallback?: P | null | undefined;
}): PriceQuote<P> {
  const own = input.find(input.model);
  if (own) return { pricing: 'priced', prices: own, pricedAs: input.model };
  const alias = priceAliasOf(input.model);
  const aliased = alias === null ? null : input.find(alias);
  if (aliased && alias !== null) return { pricing: 'priced', prices: aliased, pricedAs: alias };
  if (input.fallback) return { pricing: 'fallback', prices: input.fallback, pricedAs: null };
  return { pricing: 'unpriced', prices: null, pricedAs: null };
}

/**
 * The `model` label of LLM metrics: the price-table row the call was priced with, else
 * `other`. The table is written by the operator (admin token), so the label takes at most one
 * value per row plus one, whatever names flows use.
 */
export function modelLabel(quote: Pick<PriceQuote, 'pricing' | 'pricedAs'>): string {
  return quote.pricing === 'priced' && quote.pricedAs !== null ? quote.pricedAs : OTHER_MODEL_LABEL;
}

/** How an execution's cost total was priced, over its node results. */
export interface PricingTotals {
  /**
   * `unpriced` when any LLM run had no price (the cost total then leaves its tokens out),
   * else `fallback` when any used the workspace's fallback price, else `priced`; null when no
   * result was priced or unpriced (no LLM node ran).
   */
  pricing: PricingStatus | null;
  /** Tokens of unpriced runs (0 when none; null with `pricing` null). */
  unpricedTokens: number | null;
}

export function sumPricing(results: Iterable<Pick<NodeResult, 'pricing' | 'usage'>>): PricingTotals {
  const seen = new Set<PricingStatus>();
  let unpricedTokens = 0;
  for (const r of results) {
    if (!r.pricing) continue;
    seen.add(r.pricing);
    if (r.pricing === 'unpriced') unpricedTokens += r.usage?.totalTokens ?? 0;
  }
  const pricing: PricingStatus | null = seen.has('unpriced') ? 'unpriced' : seen.has('fallback') ? 'fallback' : seen.has('priced') ? 'priced' : null;
  return { pricing, unpricedTokens: pricing === null ? null : unpricedTokens };
}
