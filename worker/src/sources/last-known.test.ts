import { describe, expect, it } from 'vitest';
import { LastKnown } from './last-known.js';

describe('LastKnown', () => {
  it('returns fresh values, the last one while loads fail, and fails after maxStale or when never loaded', async () => {
    let now = 0;
    const cache = new LastKnown<string>({ maxStaleMs: 1000, now: () => now });
    const down = async (): Promise<string> => { throw new Error('ECONNREFUSED'); };
    await expect(cache.load('k', down)).rejects.toThrow('ECONNREFUSED');
    expect(await cache.load('k', async () => 'v1')).toBe('v1');
    expect(await cache.load('k', async () => 'v2')).toBe('v2');
    now = 500;
    expect(await cache.load('k', down)).toBe('v2');
    now = 1500;
    await expect(cache.load('k', down)).rejects.toThrow('ECONNREFUSED');
  });
});

describe('LastKnown with freshMs', () => {
  it('answers a fresh value without a load, shares one load between concurrent misses, and loads again once stale', async () => {
    let now = 0;
    let loads = 0;
    const cache = new LastKnown<string>({ maxStaleMs: 10_000, freshMs: 100, now: () => now });
    const load = async (): Promise<string> => { loads += 1; return `v${loads}`; };
    expect(await Promise.all([cache.load('k', load), cache.load('k', load)])).toEqual(['v1', 'v1']);
    now = 99;
    expect(await cache.load('k', load)).toBe('v1');
    expect(loads).toBe(1);
    now = 100;
    expect(await cache.load('k', load)).toBe('v2');
    expect(await cache.load('other', load)).toBe('v3');
  });

  it('loads a forgotten key on its next ask, never trusts a load that began before the forget, and lets a forgotten value stand in while loads fail', async () => {
    let loads = 0;
    const cache = new LastKnown<string>({ maxStaleMs: 10_000, freshMs: 60_000, now: () => 0 });
    const load = async (): Promise<string> => { loads += 1; return `v${loads}`; };
    expect(await cache.load('a', load)).toBe('v1');
    expect(await cache.load('b', load)).toBe('v2');
    expect(cache.forget((key) => key === 'a')).toBe(1);
    expect(await cache.load('b', load)).toBe('v2');
    expect(await cache.load('a', load)).toBe('v3');

    // A load in flight when the key is forgotten: its callers get it, the next ask loads again.
    let release: (value: string) => void = () => undefined;
    cache.forget(() => true);
    const racing = cache.load('a', () => new Promise<string>((resolve) => { release = resolve; }));
    cache.forget((key) => key === 'a');
    release('old');
    expect(await racing).toBe('old');
    expect(await cache.load('a', async () => 'new')).toBe('new');

    cache.forget(() => true);
    expect(await cache.load('a', async () => { throw new Error('ECONNREFUSED'); })).toBe('new');
  });

  it('keeps at most max keys, least recently used dropped first', async () => {
    const cache = new LastKnown<string>({ maxStaleMs: 10_000, freshMs: 60_000, max: 2, now: () => 0 });
    let loads = 0;
    const load = async (): Promise<string> => { loads += 1; return 'v'; };
    await cache.load('a', load);
    await cache.load('b', load);
    await cache.load('c', load);
    expect(loads).toBe(3);
    await cache.load('c', load);
    await cache.load('b', load);
    expect(loads).toBe(3);
    await cache.load('a', load);
    expect(loads).toBe(4);
  });
});
