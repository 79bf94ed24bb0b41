import { describe, expect, it } from 'vitest';
import { WeftError } from '../errors/weft-error.js';
import { parseTemplate } from './parse-template.js';

function syntaxErrorOf(text: string): WeftError {
  try {
    parseTemplate(text);
  } catch (err) {
    if (err instanceof WeftError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseTemplate', () => {
  it('returns one literal for text without references', () => {
    expect(parseTemplate('plain text')).toEqual([{ kind: 'literal', text: 'plain text' }]);
  });

  it('returns nothing for an empty string', () => {
    expect(parseTemplate('')).toEqual([]);
  });

  it('splits literals and references with root, path and offset', () => {
    expect(parseTemplate('What is {{input.topic.name}}? See {{research}}.')).toEqual([
      { kind: 'literal', text: 'What is ' },
      { kind: 'ref', root: 'input', path: ['topic', 'name'], source: 'input.topic.name', offset: 8 },
      { kind: 'literal', text: '? See ' },
      { kind: 'ref', root: 'research', path: [], source: 'research', offset: 34 },
      { kind: 'literal', text: '.' },
    ]);
  });

  it('allows whitespace inside the braces', () => {
    expect(parseTemplate('{{  input.x\t}}')).toEqual([{ kind: 'ref', root: 'input', path: ['x'], source: 'input.x', offset: 0 }]);
  });

  it('keeps array indices as path segments', () => {
    expect(parseTemplate('{{input.items.0.name}}')).toEqual([
      { kind: 'ref', root: 'input', path: ['items', '0', 'name'], source: 'input.items.0.name', offset: 0 },
    ]);
  });

  it('parses node output and usage references', () => {
    expect(parseTemplate('{{summary.output}}{{summary.output.a.b}}{{summary.usage.totalTokens}}{{summary.usage}}').map((s) => s.kind === 'ref' && s.path)).toEqual([
      ['output'],
      ['output', 'a', 'b'],
      ['usage', 'totalTokens'],
      ['usage'],
    ]);
  });

  it('accepts ids with dashes and underscores', () => {
    expect(parseTemplate('{{step_1-a.output}}')).toEqual([
      { kind: 'ref', root: 'step_1-a', path: ['output'], source: 'step_1-a.output', offset: 0 },
    ]);
  });

  it('turns \\{{ into a literal {{', () => {
    expect(parseTemplate('use \\{{input.x}} literally, not {{input.x}}')).toEqual([
      { kind: 'literal', text: 'use {{input.x}} literally, not ' },
      { kind: 'ref', root: 'input', path: ['x'], source: 'input.x', offset: 32 },
    ]);
  });

  it('keeps an escaped unclosed {{ as text', () => {
    expect(parseTemplate('a \\{{ b')).toEqual([{ kind: 'literal', text: 'a {{ b' }]);
  });

  it('treats extra leading braces as literal text', () => {
    expect(parseTemplate('{"a": {{{input.x}}}}')).toEqual([
      { kind: 'literal', text: '{"a": {' },
      { kind: 'ref', root: 'input', path: ['x'], source: 'input.x', offset: 7 },
      { kind: 'literal', text: '}}' },
    ]);
  });

  it('leaves single braces and a lone }} alone', () => {
    expect(parseTemplate('{a} }} {')).toEqual([{ kind: 'literal', text: '{a} }} {' }]);
  });

  it.each([
    ['unclosed', 'What is {{input.topic'],
    ['unclosed after a valid ref', '{{input.a}} and {{b'],
    ['empty', 'x {{}} y'],
    ['blank', '{{   }}'],
    ['space inside a path', '{{input.a b}}'],
    ['empty segment', '{{input..a}}'],
    ['trailing dot', '{{input.a.}}'],
    ['leading dot', '{{.a}}'],
    ['root starting with a digit', '{{1abc}}'],
    ['brackets', '{{input.items[0]}}'],
    ['unknown node field', '{{research.text}}'],
    ['unknown usage field', '{{research.usage.tokens}}'],
    ['path below a usage field', '{{research.usage.totalTokens.x}}'],
  ])('throws TEMPLATE_SYNTAX on %s', (_case, text) => {
    expect(syntaxErrorOf(text).code).toBe('TEMPLATE_SYNTAX');
  });

  it('names the offset of an unclosed {{', () => {
    expect(syntaxErrorOf('What is {{input.topic').message).toBe("unclosed '{{' at offset 8");
  });
});
