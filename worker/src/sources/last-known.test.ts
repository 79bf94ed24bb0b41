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
