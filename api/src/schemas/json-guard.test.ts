import { describe, expect, it } from 'vitest';
import { inspectJson, inspectStrings, textProblem } from './json-guard.js';

const limits = { maxDepth: 4, maxStringLength: 10 };

function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

describe('inspectJson', () => {
  it('accepts values within the limits', () => {
    expect(inspectJson({ a: [{ b: 'ok' }] }, limits)).toBeNull();
    expect(inspectJson(nested(4), limits)).toBeNull();
    expect(inspectJson('x'.repeat(10), limits)).toBeNull();
    expect(inspectJson({ emoji: '😀✓é' }, limits)).toBeNull();
  });

  it('refuses nesting past maxDepth, pointing at the container that passes it', () => {
    expect(inspectJson(nested(5), limits)).toMatchObject({ code: 'JSON_TOO_DEEP', reason: 'depth', path: '/0/0/0/0' });
    expect(inspectJson({ a: { b: { c: { d: {} } } } }, limits)).toMatchObject({ code: 'JSON_TOO_DEEP', path: '/a/b/c/d' });
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(inspectJson(deep, { maxDepth: 64, maxStringLength: 10 })).toMatchObject({ code: 'JSON_TOO_DEEP' });
  });

  it('refuses NUL and lone surrogates in values and keys, with the pointer of the value', () => {
    expect(inspectJson({ a: ['ok', 'x\u0000'] }, limits)).toMatchObject({ code: 'INVALID_TEXT', reason: 'invalid_text', path: '/a/1' });
    expect(inspectJson({ a: '\ud800' }, limits)).toMatchObject({ code: 'INVALID_TEXT', path: '/a' });
    expect(inspectJson({ a: 'x\udfffy' }, limits)).toMatchObject({ code: 'INVALID_TEXT', path: '/a' });
    expect(inspectJson({ o: { 'k\u0000': 1 } }, limits)).toMatchObject({ code: 'INVALID_TEXT', path: '/o' });
    expect(inspectJson({ '\ud800': 1 }, limits)).toMatchObject({ code: 'INVALID_TEXT', path: '' });
  });

  it('refuses strings and keys longer than maxStringLength', () => {
    expect(inspectJson({ a: 'x'.repeat(11) }, limits)).toMatchObject({ code: 'STRING_TOO_LONG', reason: 'string_length', path: '/a' });
    expect(inspectJson({ ['k'.repeat(11)]: 1 }, limits)).toMatchObject({ code: 'STRING_TOO_LONG', path: '' });
  });

  it('reports the first problem in document order, with keys escaped in the pointer', () => {
    expect(inspectJson({ 'a/b': { '~c': 'x\u0000' }, z: '\ud800' }, limits)).toMatchObject({ path: '/a~1b/~0c' });
  });
});

describe('inspectStrings', () => {
  it('points at the parameter holding unstorable text', () => {
    expect(inspectStrings({ id: 'fine', cursor: 'a\u0000' })).toMatchObject({ code: 'INVALID_TEXT', path: '/cursor' });
    expect(inspectStrings({ tags: ['ok', '\ud800'] })).toMatchObject({ path: '/tags' });
    expect(inspectStrings({ 'x\u0000': 'v' })).toMatchObject({ code: 'INVALID_TEXT', path: '' });
    expect(inspectStrings({ a: 'b', n: undefined })).toBeNull();
  });

  it('tells NUL from a lone surrogate', () => {
    expect(textProblem('\u0000')).toContain('NUL');
    expect(textProblem('\ud83d')).toContain('surrogate');
    expect(textProblem('\ud83d\ude00')).toBeNull();
  });
});
