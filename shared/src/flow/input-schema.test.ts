import { describe, expect, it } from 'vitest';
import { compileInputSchema, INPUT_ERRORS_MAX, INPUT_SCHEMA_MAX_BYTES, INPUT_SCHEMA_MAX_DEPTH, inputSchemaProblems } from './input-schema.js';

const codes = (schema: unknown): Array<{ path: string; code: string | undefined }> => inputSchemaProblems(schema).map(({ path, code }) => ({ path, code }));

describe('inputSchemaProblems', () => {
  it('accepts a draft 2020-12 schema with local references, and names that look like keywords', () => {
    expect(codes({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      required: ['topic'],
      properties: { topic: { type: 'string', minLength: 1, format: 'email' }, pattern: { $ref: '#/$defs/word' }, tags: { type: 'array', items: { enum: ['a', 'b'] } } },
      additionalProperties: false,
      $defs: { word: { type: 'string', const: { pattern: 'not a keyword here' } } },
    })).toEqual([]);
  });

  it('refuses what can run away or reach out, each at its path', () => {
    expect(codes({
      type: 'object',
      properties: { a: { type: 'string', pattern: '^(a+)+$' }, b: { format: 'regex' }, c: { $ref: 'https://example.test/s.json' } },
      patternProperties: { '^x': {} },
      $id: 'https://example.test/mine',
    })).toEqual([
      { path: '/inputSchema/$id', code: 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED' },
      { path: '/inputSchema/patternProperties', code: 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED' },
      { path: '/inputSchema/properties/a/pattern', code: 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED' },
      { path: '/inputSchema/properties/b/format', code: 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED' },
      { path: '/inputSchema/properties/c/$ref', code: 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED' },
    ]);
    expect(codes({ $schema: 'http://json-schema.org/draft-07/schema#' })).toEqual([{ path: '/inputSchema/$schema', code: 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED' }]);
  });

  it('bounds its size and its depth, with codes of their own', () => {
    expect(codes({ description: 'x'.repeat(INPUT_SCHEMA_MAX_BYTES) })).toEqual([{ path: '/inputSchema', code: 'FLOW_INPUT_SCHEMA_TOO_LARGE' }]);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < INPUT_SCHEMA_MAX_DEPTH; i++) deep = { items: deep };
    const [problem, ...rest] = codes(deep);
    expect(rest).toEqual([]);
    expect(problem?.code).toBe('FLOW_INPUT_SCHEMA_TOO_DEEP');
    expect(problem?.path).toMatch(/^\/inputSchema(\/items)+$/);
  });

  it('reports what ajv refuses: not an object, an unknown keyword, a wrong type', () => {
    expect(codes('string')).toEqual([{ path: '/inputSchema', code: 'FLOW_INVALID_INPUT_SCHEMA' }]);
    expect(codes({ type: 'object', requird: ['a'] })).toEqual([{ path: '/inputSchema', code: 'FLOW_INVALID_INPUT_SCHEMA' }]);
    expect(codes({ type: 'strin' })).toEqual([{ path: '/inputSchema', code: 'FLOW_INVALID_INPUT_SCHEMA' }]);
    expect(codes({ $ref: '#/$defs/missing' })).toEqual([{ path: '/inputSchema', code: 'FLOW_INVALID_INPUT_SCHEMA' }]);
  });
});

describe('compileInputSchema', () => {
  const validate = compileInputSchema({
    type: 'object',
    required: ['topic', 'size'],
    properties: { topic: { type: 'string', minLength: 1 }, size: { type: 'integer', maximum: 10 }, opts: { type: 'object', properties: { deep: { type: 'boolean' } } } },
    additionalProperties: false,
  });

  it('answers nothing for a matching input', () => {
    expect(validate({ topic: 'x', size: 3, opts: { deep: true } })).toEqual([]);
  });

  it('answers every problem at its path under /input', () => {
    expect(validate({ size: 11, opts: { deep: 'yes' }, extra: 1 }).map((d) => d.path).sort()).toEqual(['/input/extra', '/input/opts/deep', '/input/size', '/input/topic']);
    expect(validate({ size: 1 })).toEqual([{ path: '/input/topic', message: "must have required property 'topic' (required)", code: 'INPUT_SCHEMA_MISMATCH' }]);
  });

  it('checks a start without input as null', () => {
    expect(validate(undefined)).toEqual([{ path: '/input', message: 'must be object (type)', code: 'INPUT_SCHEMA_MISMATCH' }]);
  });

  it('reports at most INPUT_ERRORS_MAX problems, then how many more', () => {
    const many = compileInputSchema({ type: 'array', items: { type: 'string' } });
    const details = many(Array.from({ length: INPUT_ERRORS_MAX + 5 }, (_, i) => i));
    expect(details).toHaveLength(INPUT_ERRORS_MAX + 1);
    expect(details.at(-1)?.message).toBe('and 5 more problems');
  });
});
