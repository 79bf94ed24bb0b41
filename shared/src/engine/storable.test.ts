import { describe, expect, it } from 'vitest';
import { storableJson, storableText } from './storable.js';

describe('storable text and JSON (what Postgres text and jsonb accept)', () => {
  it('replaces NUL and lone surrogates, and keeps pairs and the rest', () => {
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText('x\ud800y')).toBe('x\ufffdy');
    expect(storableText('x\udc00y')).toBe('x\ufffdy');
    expect(storableText('\ud83d\ude00 ok')).toBe('\ud83d\ude00 ok');
    expect(storableText('plain')).toBe('plain');
  });

  it('answers the same value when it is storable, a cleaned copy when not', () => {
    const clean = { a: ['x', 1, null, { '\ud83d\ude00': 'pair' }], b: 'backslash \\u0000 is text, not NUL' };
    expect(storableJson(clean)).toBe(clean);
    const dirty = { 'k\u0000': ['v\u0000', { deep: 'x\ud800' }], ok: '\\\u0000', pair: '\ud83d\ude00' };
    expect(storableJson(dirty)).toEqual({ 'k\ufffd': ['v\ufffd', { deep: 'x\ufffd' }], ok: '\\\ufffd', pair: '\ud83d\ude00' });
    expect(dirty['k\u0000']).toEqual(['v\u0000', { deep: 'x\ud800' }]);
    expect(storableJson('\u0000')).toBe('\ufffd');
    expect(storableJson<unknown>(undefined)).toBeUndefined();
    expect(storableJson(null)).toBeNull();
    // Every cleaned value survives Postgres's own rules: no NUL, no lone surrogate left.
    expect(JSON.stringify(storableJson(dirty))).not.toMatch(/\\u0000|\\ud[89a-f]/i);
  });
});
