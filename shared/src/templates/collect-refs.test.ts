import { describe, expect, it } from 'vitest';
import { collectRefs } from './collect-refs.js';

describe('collectRefs', () => {
  it('lists the references in order, duplicates included', () => {
    expect(collectRefs('{{a}} {{ input.x }} \\{{b}} {{a.output.y}}').map((r) => [r.root, r.path])).toEqual([
      ['a', []],
      ['input', ['x']],
      ['a', ['output', 'y']],
    ]);
  });

  it('returns nothing for plain text', () => {
    expect(collectRefs('no refs here')).toEqual([]);
  });

  it('throws TEMPLATE_SYNTAX on a malformed template', () => {
    expect(() => collectRefs('{{a')).toThrow(expect.objectContaining({ code: 'TEMPLATE_SYNTAX' }));
  });
});
