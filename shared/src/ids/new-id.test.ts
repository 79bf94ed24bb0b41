import { describe, expect, it } from 'vitest';
import { isUuid, newId } from './new-id.js';

describe('newId', () => {
  it('is a canonical UUID with version 7 and the RFC 9562 variant', () => {
    for (let i = 0; i < 200; i++) {
      const id = newId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(isUuid(id)).toBe(true);
    }
  });

  it('encodes the millisecond timestamp in the first 48 bits', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = newId(t);
    const ms = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBe(t);
  });

  it('sorts by creation time across milliseconds', () => {
    const base = Date.now();
    const ids = Array.from({ length: 50 }, (_, i) => newId(base + i));
    expect([...ids].sort()).toEqual(ids);
    expect(newId(base) < newId(base + 1)).toBe(true);
  });

  it('does not repeat', () => {
    const t = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => newId(t)));
    expect(ids.size).toBe(10_000);
  });

  it('rejects non-uuids', () => {
    expect(isUuid('not-a-uuid')).toBe(false);
    expect(isUuid('')).toBe(false);
  });
});
