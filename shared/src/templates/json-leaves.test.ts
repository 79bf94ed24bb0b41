import { describe, expect, it } from 'vitest';
import { jsonEqual } from '../flow/json-equal.js';
import { mapStringLeaves, stringLeaves } from './json-leaves.js';

function deepArray(levels: number): unknown {
  return JSON.parse(`${'['.repeat(levels)}"{{input.x}}"${']'.repeat(levels)}`) as unknown;
}

describe('json leaves', () => {
  it('lists string leaves with their pointers in document order', () => {
    expect(stringLeaves({ a: ['x', { 'b/c': 'y' }], n: 1, s: 'z' })).toEqual([
      { pointer: '/a/0', text: 'x' },
      { pointer: '/a/1/b~1c', text: 'y' },
      { pointer: '/s', text: 'z' },
    ]);
    expect(stringLeaves('t')).toEqual([{ pointer: '', text: 't' }]);
  });

  it('maps string leaves in document order, keeping key order, other values and __proto__ as a plain key', () => {
    const seen: string[] = [];
    const source = JSON.parse('{"b":"1","a":["2",3,null,{"__proto__":"4"}],"c":true}') as unknown;
    const out = mapStringLeaves(source, (text) => {
      seen.push(text);
      return `<${text}>`;
    });
    expect(seen).toEqual(['1', '2', '4']);
    expect(JSON.stringify(out)).toBe('{"b":"<1>","a":["<2>",3,null,{"__proto__":"<4>"}],"c":true}');
    expect(Object.getPrototypeOf((out as { a: unknown[] }).a[3])).toBe(Object.prototype);
  });

  it('walks and maps 100,000 levels without overflowing the stack', () => {
    const deep = deepArray(100_000);
    expect(stringLeaves(deep)).toHaveLength(1);
    let out = mapStringLeaves(deep, () => 'done');
    for (let i = 0; i < 100_000; i++) out = (out as unknown[])[0];
    expect(out).toBe('done');
  });

  it('compares 100,000-deep values without overflowing the stack', () => {
    expect(jsonEqual(deepArray(100_000), deepArray(100_000))).toBe(true);
    expect(jsonEqual(deepArray(100_000), deepArray(99_999))).toBe(false);
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { b: 1 })).toBe(false);
  });
});
