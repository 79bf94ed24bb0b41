import { describe, expect, it } from 'vitest';
import { ApiKeyCache } from './api-key-cache.js';

const entry = (workspaceId: string, keyId: string): { workspaceId: string; keyId: string; touchedAt: number } => ({ workspaceId, keyId, touchedAt: 0 });

describe('ApiKeyCache', () => {
  it('drops the revoked keys of a workspace, or all of them, and nothing of another workspace', () => {
    const cache = new ApiKeyCache({ ttlMs: 60_000, max: 100 });
    for (const [hash, ws, key] of [['h1', 'w1', 'k1'], ['h2', 'w1', 'k2'], ['h3', 'w2', 'k3']] as const) cache.set(hash, entry(ws, key), cache.snapshot());
    expect(cache.invalidate({ workspaceId: 'w1', keyIds: ['k1'] })).toBe(1);
    expect([cache.get('h1'), cache.get('h2')?.keyId, cache.get('h3')?.keyId]).toEqual([undefined, 'k2', 'k3']);
    expect(cache.invalidate({ workspaceId: 'w1' })).toBe(1);
    expect([cache.get('h2'), cache.get('h3')?.keyId]).toEqual([undefined, 'k3']);
  });

  it('does not cache what a lookup read before a revocation arrived', () => {
    const cache = new ApiKeyCache({ ttlMs: 60_000, max: 100 });
    const before = cache.snapshot();
    // The lookup is in flight; a revocation (of any key) arrives meanwhile.
    cache.invalidate({ workspaceId: 'w1', keyIds: ['k1'] });
    cache.set('h1', entry('w1', 'k1'), before);
    expect(cache.get('h1')).toBeUndefined();
    cache.set('h1', entry('w1', 'k1'), cache.snapshot());
    expect(cache.get('h1')?.keyId).toBe('k1');
  });

  it('keeps at most `max` keys, and caches nothing with a TTL of 0', () => {
    const bounded = new ApiKeyCache({ ttlMs: 60_000, max: 2 });
    for (const hash of ['a', 'b', 'c']) bounded.set(hash, entry('w', hash), bounded.snapshot());
    expect(['a', 'b', 'c'].map((h) => bounded.get(h)?.keyId)).toEqual([undefined, 'b', 'c']);
    const off = new ApiKeyCache({ ttlMs: 0, max: 2 });
    off.set('a', entry('w', 'a'), off.snapshot());
    expect(off.enabled).toBe(false);
    expect(off.get('a')).toBeUndefined();
  });
});
