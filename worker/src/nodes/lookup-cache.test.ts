import { describe, expect, it } from 'vitest';
import { LookupCache } from './lookup-cache.js';

describe('LookupCache', () => {
  it('reloads after the ttl and serves the last value while loads fail, up to maxStale', async () => {
    let now = 0;
    const cache = new LookupCache<string>({ ttlMs: 100, maxStaleMs: 1000, now: () => now });
    let calls = 0;
    expect(await cache.get('k', async () => { calls++; return 'v1'; })).toBe('v1');
    expect(await cache.get('k', async () => { calls++; return 'v2'; })).toBe('v1');
    expect(calls).toBe(1);
    now = 150;
    expect(await cache.get('k', async () => { calls++; return 'v2'; })).toBe('v2');
    now = 300;
    const down = async (): Promise<string> => { throw new Error('ECONNREFUSED'); };
    expect(await cache.fresh('k', down)).toBe('v2');
    now = 2000;
    await expect(cache.fresh('k', down)).rejects.toThrow('ECONNREFUSED');
    await expect(cache.fresh('other', down)).rejects.toThrow('ECONNREFUSED');
  });
});
