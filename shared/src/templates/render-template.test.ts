import { describe, expect, it } from 'vitest';
import type { Usage } from '../model/index.js';
import { WeftError } from '../errors/weft-error.js';
import { renderTemplate } from './render-template.js';
import type { TemplateContext } from './types.js';

const usage: Usage = { promptTokens: 42, completionTokens: 357, reasoningTokens: 0, cachedTokens: 0, totalTokens: 399 };

const ctx: TemplateContext = {
  input: { topic: 'bees', count: 3, tags: ['a', 'b'], nested: { ok: true, none: null }, items: [{ name: 'first' }] },
  results: {
    research: { output: 'Bees are insects.', usage },
    data: { output: { score: 0.5, list: [1, 2], label: 'x' }, usage: null },
    empty: { output: null, usage: null },
  },
};

function missingRefError(text: string): WeftError {
  try {
    renderTemplate(text, ctx);
  } catch (err) {
    if (err instanceof WeftError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

describe('renderTemplate', () => {
  it('inserts input strings as they are', () => {
    expect(renderTemplate('What is {{input.topic}}?', ctx)).toBe('What is bees?');
  });

  it('inserts non-string values as JSON', () => {
    expect(renderTemplate('{{input.count}}|{{input.tags}}|{{input.nested}}|{{input.nested.ok}}|{{input.nested.none}}', ctx)).toBe(
      '3|["a","b"]|{"ok":true,"none":null}|true|null',
    );
  });

  it('renders the whole input', () => {
    expect(renderTemplate('{{input}}', { input: 'raw', results: {} })).toBe('raw');
  });

  it('follows array indices', () => {
    expect(renderTemplate('{{input.tags.1}} {{input.items.0.name}}', ctx)).toBe('b first');
  });

  it('renders {{node}} and {{node.output}} as the node output', () => {
    expect(renderTemplate('A: {{research}} B: {{research.output}}', ctx)).toBe('A: Bees are insects. B: Bees are insects.');
  });

  it('renders paths into a structured output, and the whole output as JSON', () => {
    expect(renderTemplate('{{data.output.score}} {{data.output.list.0}} {{data.output.label}} {{data}}', ctx)).toBe(
      '0.5 1 x {"score":0.5,"list":[1,2],"label":"x"}',
    );
  });

  it('renders a null output as null', () => {
    expect(renderTemplate('[{{empty}}]', ctx)).toBe('[null]');
  });

  it('renders usage counters and the whole usage', () => {
    expect(renderTemplate('{{research.usage.totalTokens}} {{research.usage.promptTokens}}', ctx)).toBe('399 42');
    expect(renderTemplate('{{research.usage}}', ctx)).toBe(JSON.stringify(usage));
  });

  it('keeps escaped braces literal and does not resolve them', () => {
    expect(renderTemplate('\\{{input.topic}} = {{input.topic}}', ctx)).toBe('{{input.topic}} = bees');
  });

  it('does not re-expand templates found inside inserted values', () => {
    expect(renderTemplate('{{input.t}}', { input: { t: '{{input.t}}' }, results: {} })).toBe('{{input.t}}');
  });

  it.each([
    ['a node without a result', '{{missing}}', "cannot resolve {{missing}}: no result for node 'missing'"],
    ['a missing input key', '{{input.nope}}', "cannot resolve {{input.nope}}: input has no 'nope'"],
    ['a path through a string', '{{input.topic.length}}', 'cannot resolve {{input.topic.length}}: input.topic is string, not an object'],
    ['an index out of range', '{{input.tags.2}}', "cannot resolve {{input.tags.2}}: input.tags is an array of 2 and has no index '2'"],
    ['a non-numeric index', '{{input.tags.first}}', "cannot resolve {{input.tags.first}}: input.tags is an array of 2 and has no index 'first'"],
    ['a path through null', '{{input.nested.none.x}}', 'cannot resolve {{input.nested.none.x}}: input.nested.none is null, not an object'],
    ['a missing output path', '{{data.output.nope}}', "cannot resolve {{data.output.nope}}: data.output has no 'nope'"],
    ['usage of a node without usage', '{{data.usage.totalTokens}}', "cannot resolve {{data.usage.totalTokens}}: node 'data' has no usage"],
    ['a vault reference', '{{vault.KEY}}', "cannot resolve {{vault.KEY}}: 'vault' is not available in this template"],
  ])('throws TEMPLATE_MISSING_REF on %s', (_case, text, message) => {
    const err = missingRefError(text);
    expect(err.code).toBe('TEMPLATE_MISSING_REF');
    expect(err.message).toBe(message);
  });

  it('throws TEMPLATE_MISSING_REF on an undefined input or output', () => {
    expect(() => renderTemplate('{{input}}', { input: undefined, results: {} })).toThrow('cannot resolve {{input}}: input has no value');
    expect(() => renderTemplate('{{a}}', { input: null, results: { a: { output: undefined, usage: null } } })).toThrow(
      'cannot resolve {{a}}: a.output has no value',
    );
  });

  it('does not resolve inherited properties', () => {
    expect(missingRefError('{{input.toString}}').code).toBe('TEMPLATE_MISSING_REF');
    expect(missingRefError('{{constructor}}').code).toBe('TEMPLATE_MISSING_REF');
  });

  it('throws TEMPLATE_SYNTAX before resolving anything', () => {
    expect(missingRefError('{{input.topic}} {{').code).toBe('TEMPLATE_SYNTAX');
  });
});

describe('renderTemplate inside a map item', () => {
  const scoped: TemplateContext = { ...ctx, scope: { item: { name: 'doc', tags: ['x', 'y'] }, index: 7 } };

  it('reads the item (whole or by path) and its index', () => {
    expect(renderTemplate('{{index}}: {{item.name}} {{item.tags.1}} {{item}}', scoped)).toBe('7: doc y {"name":"doc","tags":["x","y"]}');
  });

  it('fails on a missing item path, and on item or index outside a map', () => {
    expect(() => renderTemplate('{{item.missing}}', scoped)).toThrow(/cannot resolve \{\{item.missing\}\}/);
    expect(() => renderTemplate('{{index.x}}', scoped)).toThrow(WeftError);
    expect(missingRefError('{{item}}').code).toBe('TEMPLATE_MISSING_REF');
    expect(missingRefError('{{index}}').code).toBe('TEMPLATE_MISSING_REF');
  });
});
