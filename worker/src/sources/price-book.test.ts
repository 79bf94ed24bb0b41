import { describe, expect, it } from 'vitest';
import type { ModelPrice } from '@weft/db/repos';
import { MAX_REMEMBERED_MISSES, PriceBook } from './price-book.js';

const price = (model: string, input: number): ModelPrice => ({ provider: 'openai', model, inputPer1M: input, outputPer1M: 1, reasoningPer1M: 1, cachedPer1M: 1 });

describe('PriceBook', () => {
  it('loads the table once per ttl, keeps it through failures, and fails only if never loaded', async () => {
    let now = 0;
    let table: ModelPrice[] | Error = new Error('ECONNREFUSED');
    let loads = 0;
    const book = new PriceBook({ list: async () => { loads++; if (table instanceof Error) throw table; return table; } }, { ttlMs: 100, now: () => now });
    await expect(book.lookup('openai', 'a')).rejects.toThrow('ECONNREFUSED');
    table = [price('a', 2)];
    expect((await book.lookup('openai', 'a'))?.inputPer1M).toBe(2);
    // A model never missed before reloads once; missing again right away does not.
    expect(await book.lookup('openai', 'unknown')).toBeNull();
    expect(await book.lookup('openai', 'unknown')).toBeNull();
    expect(loads).toBe(3);
    table = [price('a', 3)];
    expect((await book.lookup('openai', 'a'))?.inputPer1M).toBe(2);
    now = 150;
    expect((await book.lookup('openai', 'a'))?.inputPer1M).toBe(3);
    table = new Error('ECONNREFUSED');
    now = 300;
    expect((await book.lookup('openai', 'a'))?.inputPer1M).toBe(3);
  });

  it('reloads on a miss, at most once per missReloadMs, so a newly priced model is priced at once', async () => {
    let now = 0;
    let table: ModelPrice[] = [price('a', 2)];
    let loads = 0;
    const book = new PriceBook({ list: async () => { loads++; return table; } }, { ttlMs: 60_000, missReloadMs: 1000, now: () => now });
    expect(await book.lookup('openai', 'b')).toBeNull();
    table = [price('a', 2), price('b', 7)];
    expect(await book.lookup('openai', 'b')).toBeNull();
    expect(loads).toBe(1);
    now = 1000;
    expect((await book.lookup('openai', 'b'))?.inputPer1M).toBe(7);
    expect(loads).toBe(2);
    expect((await book.lookup('openai', 'a'))?.inputPer1M).toBe(2);
    expect(loads).toBe(2);
  });

  it('reloads for a model it never missed even right after a load, so every worker prices a new model at once', async () => {
    const now = 0;
    let table: ModelPrice[] = [price('a', 2)];
    let loads = 0;
    const book = new PriceBook({ list: async () => { loads++; return table; } }, { ttlMs: 60_000, missReloadMs: 1000, now: () => now });
    expect((await book.lookup('openai', 'a'))?.inputPer1M).toBe(2);
    table = [price('a', 2), price('fresh', 9)];
    // Same instant as the load: a never-missed model still reloads.
    expect((await book.lookup('openai', 'fresh'))?.inputPer1M).toBe(9);
    expect(loads).toBe(2);
  });

  it('prices dated and -latest names as their row, never a longer name as a shorter one', async () => {
    const book = new PriceBook({ list: async () => [price('gpt-4o', 2.5), price('gpt-4o-2024-05-13', 5)] }, { ttlMs: 60_000 });
    expect(await book.quote('openai', 'gpt-4o-2024-08-06')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o', prices: { inputPer1M: 2.5 } });
    expect(await book.quote('openai', 'gpt-4o-2024-05-13')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o-2024-05-13', prices: { inputPer1M: 5 } });
    expect(await book.quote('openai', 'gpt-4o-latest')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o' });
    expect(await book.quote('openai', 'gpt-4o-mini')).toEqual({ pricing: 'unpriced', prices: null, pricedAs: null });
    expect(await book.quote('anthropic', 'gpt-4o')).toEqual({ pricing: 'unpriced', prices: null, pricedAs: null });
  });

  it('remembers a bounded number of missed names, however many a flow invents', async () => {
    const book = new PriceBook({ list: async () => [price('a', 1)] }, { ttlMs: 60_000, now: () => 0 });
    for (let i = 0; i < MAX_REMEMBERED_MISSES + 50; i++) await book.lookup('openai', `invented-${i}`);
    expect((book as unknown as { missedAt: Map<string, number> }).missedAt.size).toBe(MAX_REMEMBERED_MISSES);
  });
});
