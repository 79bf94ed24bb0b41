import { describe, expect, it } from 'vitest';
import { executionOutput } from './execution-output.js';

const diamond = {
  nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }, { id: 'e' }],
  edges: [
    { from: 'a', to: 'b' },
    { from: 'a', to: 'c' },
    { from: 'b', to: 'd' },
  ],
};

describe('executionOutput', () => {
  it('keys the outputs of leaf nodes by id', () => {
    const results = {
      a: { status: 'completed', output: 'A' },
      b: { status: 'completed', output: 'B' },
      c: { status: 'completed', output: { n: 1 } },
      d: { status: 'completed', output: 'D' },
      e: { status: 'completed', output: null },
    } as const;
    expect(executionOutput(diamond, results)).toEqual({ c: { n: 1 }, d: 'D', e: null });
  });

  it('leaves out skipped leaves and leaves without a result', () => {
    const results = {
      a: { status: 'completed', output: 'A' },
      c: { status: 'skipped', output: null },
      d: { status: 'failed', output: null },
    } as const;
    expect(executionOutput(diamond, results)).toEqual({ d: null });
  });

  it('returns the output node’s output when the flow names one', () => {
    const results = { a: { status: 'completed', output: 'A' }, b: { status: 'completed', output: ['x'] } } as const;
    expect(executionOutput({ ...diamond, output: 'b' }, results)).toEqual(['x']);
  });

  it('returns null when the output node was skipped or has no result', () => {
    expect(executionOutput({ ...diamond, output: 'b' }, { b: { status: 'skipped', output: 'stale' } })).toBeNull();
    expect(executionOutput({ ...diamond, output: 'b' }, {})).toBeNull();
  });
});
