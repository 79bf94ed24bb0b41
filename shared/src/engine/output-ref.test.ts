import { describe, expect, it } from 'vitest';
import { collectOutputRefs, isOutputRef, outputRef, oversizeBytes, parseOutputRef, replaceOutputRefs } from './output-ref.js';

const E = '0190f000-0000-7000-8000-000000000001';
const B = '6f1c2a9e-3b4d-4c5e-8f60-718293a4b5c6';

describe('output references', () => {
  it('round-trips an address and recognises exactly the placeholder', () => {
    const ref = outputRef({ executionId: E, blobId: B }, 3_000_000);
    expect(ref).toEqual({ ref: `weft-blob:${E}:${B}`, size: 3_000_000 });
    expect(parseOutputRef(ref.ref)).toEqual({ executionId: E, blobId: B });
    expect(isOutputRef(ref)).toBe(true);
    // A user's value that merely looks like one is not: extra keys, a foreign ref, a wrong type.
    expect(isOutputRef({ ...ref, more: 1 })).toBe(false);
    expect(isOutputRef({ ref: 'weft-blob:nope', size: 1 })).toBe(false);
    expect(isOutputRef({ ref: ref.ref, size: '1' })).toBe(false);
    expect(isOutputRef([ref.ref, 1])).toBe(false);
    expect(parseOutputRef(`weft-blob:${E}`)).toBeNull();
  });

  it('finds references anywhere in a value and replaces them, leaving the rest as it is', () => {
    const a = outputRef({ executionId: E, blobId: B }, 10);
    const b = outputRef({ executionId: B, blobId: E }, 20);
    const untouched = { x: [1, 2, { y: 'z' }] };
    const value = { leaf: a, items: [b, { error: 'e' }, a], untouched };
    expect([...collectOutputRefs(value)].sort()).toEqual([a.ref, b.ref].sort());
    expect(collectOutputRefs(untouched).size).toBe(0);
    const replaced = replaceOutputRefs(value, new Map<string, unknown>([[a.ref, 'A'], [b.ref, ['B']]])) as typeof value;
    expect(replaced).toEqual({ leaf: 'A', items: [['B'], { error: 'e' }, 'A'], untouched });
    expect(replaced.untouched).toBe(untouched);
    expect(replaceOutputRefs(untouched, new Map())).toBe(untouched);
    // A reference without a value stays a reference.
    expect(replaceOutputRefs([a], new Map())).toEqual([a]);
  });

  it('measures UTF-8 bytes only past the threshold', () => {
    expect(oversizeBytes('"abc"', 4)).toBe(5);
    expect(oversizeBytes('"abc"', 5)).toBeNull();
    // 'é' is 2 bytes, '😀' 4 (a surrogate pair), '€' 3.
    expect(oversizeBytes('é😀€', 8)).toBe(9);
    expect(oversizeBytes('é😀€', 9)).toBeNull();
    expect(oversizeBytes('x'.repeat(100), 300)).toBeNull();
  });
});
