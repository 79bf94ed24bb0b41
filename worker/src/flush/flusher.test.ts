import { describe, expect, it } from 'vitest';
import { byBytes } from './flusher.js';

describe('byBytes (the flusher holds a bounded amount of blobs at once)', () => {
  it('groups consecutive items up to the limit, a larger one alone, none lost', () => {
    const items = [5, 4, 2, 20, 1, 9, 1].map((size, i) => ({ i, size }));
    const groups = byBytes(items, 10);
    expect(groups.map((g) => g.map((x) => x.size))).toEqual([[5, 4], [2], [20], [1, 9], [1]]);
    expect(groups.flat()).toEqual(items);
    expect(byBytes([], 10)).toEqual([]);
  });
});
