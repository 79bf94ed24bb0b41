import { describe, expect, it } from 'vitest';
import { ExpressionCache } from './expression-cache.js';

describe('ExpressionCache', () => {
  it('compiles a source once, evaluates it many times, and forgets the oldest past its bound', async () => {
    const cache = new ExpressionCache(2);
    const a = cache.compile('x * 2');
    expect(cache.compile('x * 2')).toBe(a);
    expect(await a.evaluate({ x: 21 })).toBe(42);
    expect(await a.evaluate({ x: 5 })).toBe(10);
    cache.compile('y');
    cache.compile('z');
    expect(cache.compile('x * 2')).not.toBe(a);
  });
});
