import { describe, expect, it } from 'vitest';
import { modelLabel, priceAliasOf, quotePrice, sumPricing } from './pricing.js';
import type { Prices } from './totals.js';

const p = (input: number): Prices => ({ inputPer1M: input, outputPer1M: 1, reasoningPer1M: 1, cachedPer1M: 1 });
// The seeded rows (drizzle/migrations/0001 and 0005) that the cases below resolve to.
const table = new Map<string, Prices>([
  ['gpt-4o', p(2.5)], ['gpt-4o-mini', p(0.15)], ['gpt-4o-2024-05-13', p(5)], ['o3', p(2)],
  ['claude-3-5-haiku', p(0.8)], ['claude-sonnet-4-5', p(3)], ['gemini-2.0-flash', p(0.1)],
]);
const quote = (model: string, fallback?: Prices) => quotePrice({ model, find: (m) => table.get(m), fallback });

describe('priceAliasOf', () => {
  it.each([
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['claude-3-5-haiku-20241022', 'claude-3-5-haiku'],
    ['claude-3-5-haiku-latest', 'claude-3-5-haiku'],
    ['gemini-2.0-flash-001', 'gemini-2.0-flash'],
    ['o3-2025-04-16', 'o3'],
  ])('%s is an alias of %s', (model, base) => {
    expect(priceAliasOf(model)).toBe(base);
  });

  it.each(['gpt-4o', 'gpt-4o-mini', 'ft:gpt-4o-mini:org::abc123', 'gpt-4-0613', 'latest', '-latest', 'gemini-2.5-flash-preview-05-20', 'x-2024-08-06-beta'])(
    '%s is not an alias',
    (model) => {
      expect(priceAliasOf(model)).toBeNull();
    },
  );
});

describe('quotePrice', () => {
  it('prefers the model\'s own row, then its alias\'s row', () => {
    expect(quote('gpt-4o')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o', prices: { inputPer1M: 2.5 } });
    expect(quote('gpt-4o-2024-08-06')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o', prices: { inputPer1M: 2.5 } });
    // A snapshot priced on its own keeps its own price.
    expect(quote('gpt-4o-2024-05-13')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o-2024-05-13', prices: { inputPer1M: 5 } });
    expect(quote('claude-3-5-haiku-latest')).toMatchObject({ pricing: 'priced', pricedAs: 'claude-3-5-haiku' });
  });

  it('never prices a fine-tune or a longer name as a shorter one', () => {
    expect(quote('ft:gpt-4o-mini:org::abc123')).toEqual({ pricing: 'unpriced', prices: null, pricedAs: null });
    expect(quote('gpt-4o-audio-preview')).toEqual({ pricing: 'unpriced', prices: null, pricedAs: null });
    expect(quote('gpt-4o-mini-2024-07-18')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o-mini' });
  });

  it('uses the fallback only when neither the model nor its alias has a row', () => {
    expect(quote('ft:gpt-4o-mini:org::abc123', p(9))).toEqual({ pricing: 'fallback', prices: p(9), pricedAs: null });
    expect(quote('gpt-4o-2024-08-06', p(9))).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o' });
  });
});

describe('modelLabel', () => {
  it('names the price row, or other: bounded whatever the flow names', () => {
    const labels = new Set<string>();
    for (let i = 0; i < 100; i++) labels.add(modelLabel(quote(`model-${i}`)));
    labels.add(modelLabel(quote('gpt-4o-2024-08-06')));
    labels.add(modelLabel(quote('gpt-4o-2024-11-20')));
    labels.add(modelLabel(quote(`x-${'9'.repeat(3)}`, p(1))));
    expect([...labels].sort()).toEqual(['gpt-4o', 'other']);
  });
});

describe('sumPricing', () => {
  const usage = (totalTokens: number) => ({ promptTokens: totalTokens, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens });
  it('is unpriced when any run is, and counts its tokens', () => {
    expect(sumPricing([{ pricing: 'priced', usage: usage(5) }, { pricing: 'unpriced', usage: usage(7) }, { pricing: 'fallback', usage: usage(3) }, { usage: null }]))
      .toEqual({ pricing: 'unpriced', unpricedTokens: 7 });
    expect(sumPricing([{ pricing: 'priced', usage: usage(5) }, { pricing: 'fallback', usage: usage(3) }])).toEqual({ pricing: 'fallback', unpricedTokens: 0 });
    expect(sumPricing([{ pricing: 'priced', usage: usage(5) }])).toEqual({ pricing: 'priced', unpricedTokens: 0 });
    expect(sumPricing([{ usage: null }, { pricing: null, usage: null }])).toEqual({ pricing: null, unpricedTokens: null });
  });
});
