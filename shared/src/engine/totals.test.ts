import { describe, expect, it } from 'vitest';
import { computeCost, sumCost, sumUsage } from './totals.js';

describe('computeCost', () => {
  it('reproduces the api.md example exactly', () => {
    const cost = computeCost(
      { promptTokens: 42, completionTokens: 357, reasoningTokens: 0, cachedTokens: 0, totalTokens: 399 },
      { inputPer1M: 2.5, outputPer1M: 5, reasoningPer1M: 5, cachedPer1M: 1.25 },
    );
    expect(cost).toEqual({ inputCost: 0.000105, outputCost: 0.001785, reasoningCost: 0, totalCost: 0.00189 });
  });

  it('keeps fractions of a micro-dollar (3 tokens at $2.50 per 1M)', () => {
    const cost = computeCost(
      { promptTokens: 3, completionTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: 4 },
      { inputPer1M: 2.5, outputPer1M: 0.15, reasoningPer1M: 0.15, cachedPer1M: 0 },
    );
    expect(cost.inputCost).toBe(0.0000075);
    expect(cost.outputCost).toBe(0.00000015);
    expect(cost.totalCost).toBe(0.00000765);
  });

  it('bills cached and reasoning tokens at their own prices, once', () => {
    const cost = computeCost(
      { promptTokens: 1000, completionTokens: 500, reasoningTokens: 200, cachedTokens: 400, totalTokens: 1500 },
      { inputPer1M: 2, outputPer1M: 8, reasoningPer1M: 10, cachedPer1M: 0.5 },
    );
    expect(cost.inputCost).toBe(0.0014); // 600 × 2 + 400 × 0.5 = 1400 µ$
    expect(cost.outputCost).toBe(0.0024); // 300 × 8
    expect(cost.reasoningCost).toBe(0.002); // 200 × 10
    expect(cost.totalCost).toBe(0.0058);
  });
});

describe('sums', () => {
  it('adds many small costs without float drift', () => {
    const one = { inputCost: 0.000105, outputCost: 0.001785, reasoningCost: 0, totalCost: 0.00189 };
    const total = sumCost(Array.from({ length: 1000 }, () => ({ cost: one })));
    expect(total?.totalCost).toBe(1.89);
    expect(total?.inputCost).toBe(0.105);
  });

  it('returns null cost when nothing was priced, and sums usage', () => {
    expect(sumCost([{ cost: null }])).toBeNull();
    const u = { promptTokens: 1, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, totalTokens: 3 };
    expect(sumUsage([{ usage: u }, { usage: null }, { usage: u }]).totalTokens).toBe(6);
  });
});
