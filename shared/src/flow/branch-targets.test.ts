import { describe, expect, it } from 'vitest';
import { conditionTargets, switchTargets } from './branch-targets.js';
import { jsonEqual } from './json-equal.js';
import type { FlowEdge } from './types.js';

describe('jsonEqual', () => {
  it.each([
    [1, 1],
    ['a', 'a'],
    [null, null],
    [true, true],
    [[1, [2, { a: 3 }]], [1, [2, { a: 3 }]]],
    [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }],
    [{}, {}],
    [[], []],
  ])('%j equals %j', (a, b) => {
    expect(jsonEqual(a, b)).toBe(true);
  });

  it.each([
    [1, '1'],
    [0, false],
    [null, undefined],
    [null, {}],
    [[], {}],
    [[1, 2], [2, 1]],
    [[1], [1, 1]],
    [{ a: 1 }, { a: 1, b: 2 }],
    [{ a: undefined }, { b: undefined }],
    [{ a: [1] }, { a: [1, 2] }],
  ])('%j differs from %j', (a, b) => {
    expect(jsonEqual(a, b)).toBe(false);
    expect(jsonEqual(b, a)).toBe(false);
  });
});

describe('conditionTargets', () => {
  const edges: FlowEdge[] = [
    { from: 'c', to: 'yes1', when: true },
    { from: 'c', to: 'no', when: false },
    { from: 'c', to: 'yes2', when: true },
  ];

  it('takes every edge labelled with the value, in edge order', () => {
    expect(conditionTargets(edges, true)).toEqual(['yes1', 'yes2']);
    expect(conditionTargets(edges, false)).toEqual(['no']);
  });

  it('takes nothing when no edge carries the value', () => {
    expect(conditionTargets([{ from: 'c', to: 'yes', when: true }], false)).toEqual([]);
    expect(conditionTargets([], true)).toEqual([]);
  });
});

describe('switchTargets', () => {
  const edges: FlowEdge[] = [
    { from: 's', to: 'text', when: 'billing' },
    { from: 's', to: 'num', when: 2 },
    { from: 's', to: 'obj', when: { tier: 'gold', tags: ['a', 'b'] } },
    { from: 's', to: 'nil', when: null },
    { from: 's', to: 'other', default: true },
  ];

  it('takes the case whose value deep-equals the value', () => {
    expect(switchTargets(edges, 'billing')).toEqual(['text']);
    expect(switchTargets(edges, 2)).toEqual(['num']);
    expect(switchTargets(edges, { tags: ['a', 'b'], tier: 'gold' })).toEqual(['obj']);
  });

  it('treats no value as null', () => {
    expect(switchTargets(edges, undefined)).toEqual(['nil']);
    expect(switchTargets(edges, null)).toEqual(['nil']);
  });

  it('falls back to the default edge, and without one takes nothing', () => {
    expect(switchTargets(edges, 'BILLING')).toEqual(['other']);
    expect(switchTargets(edges, '2')).toEqual(['other']);
    expect(switchTargets(edges, { tier: 'gold', tags: ['b', 'a'] })).toEqual(['other']);
    expect(switchTargets(edges.slice(0, 2), 'sales')).toEqual([]);
    expect(switchTargets([], 'x')).toEqual([]);
  });

  it('never takes the default edge when a case matches', () => {
    expect(switchTargets([{ from: 's', to: 'other', default: true }, { from: 's', to: 'a', when: 'x' }], 'x')).toEqual(['a']);
  });
});
