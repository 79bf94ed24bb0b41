import { describe, expect, it } from 'vitest';
import { WeftError } from '../errors/weft-error.js';
import { renderTemplate } from './render-template.js';
import { renderTemplateValue } from './render-template-value.js';
import { SECRET_NAME_PATTERN, SECRET_PLACEHOLDER, type TemplateContext } from './types.js';
import { vaultRefNames } from './vault-ref-names.js';

const ctx: TemplateContext = {
  input: { n: 3, obj: { a: [1, 2] }, s: 'text' },
  results: { up: { output: { ok: true }, usage: null } },
  vault: { TOKEN: 's3cr3t-value', OTHER_1: 'x' },
};

function errorOf(fn: () => unknown): WeftError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WeftError) return err;
    throw err;
  }
  throw new Error('expected a WeftError');
}

describe('vault references', () => {
  it('render the secret when the context has a vault', () => {
    expect(renderTemplate('Bearer {{vault.TOKEN}}', ctx)).toBe('Bearer s3cr3t-value');
  });

  it('render placeholders from a placeholder vault', () => {
    expect(renderTemplate('Bearer {{vault.TOKEN}}', { ...ctx, vault: { TOKEN: SECRET_PLACEHOLDER } })).toBe('Bearer [secret]');
  });

  it('fail without a vault, for an unknown name and for a malformed path, never showing a value', () => {
    expect(errorOf(() => renderTemplate('{{vault.TOKEN}}', { input: null, results: {} })).code).toBe('TEMPLATE_MISSING_REF');
    const unknown = errorOf(() => renderTemplate('{{vault.NOPE}}', ctx));
    expect(unknown.code).toBe('TEMPLATE_MISSING_REF');
    expect(unknown.message).toBe("cannot resolve {{vault.NOPE}}: the workspace has no secret 'NOPE' (PUT /v1/secrets/NOPE)");
    for (const text of ['{{vault}}', '{{vault.TOKEN.x}}']) {
      const err = errorOf(() => renderTemplate(text, ctx));
      expect(err.code).toBe('TEMPLATE_MISSING_REF');
      expect(err.message).not.toContain('s3cr3t');
    }
  });

  it('does not resolve inherited names', () => {
    expect(errorOf(() => renderTemplate('{{vault.constructor}}', ctx)).code).toBe('TEMPLATE_MISSING_REF');
  });

  it('lists the secret names used, once each, in order', () => {
    expect(vaultRefNames(['{{vault.B}} {{input.x}}', '{{vault.A}}{{vault.B}} {{vault}} {{vault.C.d}}'])).toEqual(['B', 'A']);
    expect(vaultRefNames([])).toEqual([]);
  });

  it('names follow SECRET_NAME_PATTERN', () => {
    for (const ok of ['TOKEN', '_x', 'a1_B', 'A'.repeat(64)]) expect(SECRET_NAME_PATTERN.test(ok), ok).toBe(true);
    for (const bad of ['', '1A', 'a-b', 'a.b', 'A'.repeat(65), 'é']) expect(SECRET_NAME_PATTERN.test(bad), bad).toBe(false);
  });
});

describe('renderTemplateValue', () => {
  it('keeps the type of a lone reference', () => {
    expect(renderTemplateValue('{{input.n}}', ctx)).toBe(3);
    expect(renderTemplateValue('{{input.obj}}', ctx)).toEqual({ a: [1, 2] });
    expect(renderTemplateValue('{{up}}', ctx)).toEqual({ ok: true });
    expect(renderTemplateValue('{{ input.s }}', ctx)).toBe('text');
  });

  it('renders a string otherwise', () => {
    expect(renderTemplateValue('n={{input.n}}', ctx)).toBe('n=3');
    expect(renderTemplateValue(' {{input.n}}', ctx)).toBe(' 3');
    expect(renderTemplateValue('plain', ctx)).toBe('plain');
    expect(renderTemplateValue('', ctx)).toBe('');
  });

  it('fails like renderTemplate on a missing reference', () => {
    expect(errorOf(() => renderTemplateValue('{{input.nope}}', ctx)).code).toBe('TEMPLATE_MISSING_REF');
  });
});

describe('references to nodes without output', () => {
  it('fail clearly for a skipped node and for a softly failed one', () => {
    const base = { input: {}, results: { s: { output: null, usage: null, status: 'skipped' as const }, f: { output: null, usage: null, status: 'failed' as const } } };
    expect(() => renderTemplate('x {{s}}', base)).toThrow(/was skipped/);
    expect(() => renderTemplate('x {{f.output}}', base)).toThrow(/failed and has no output/);
  });
});
