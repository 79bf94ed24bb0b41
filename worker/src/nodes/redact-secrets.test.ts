import { describe, expect, it } from 'vitest';
import { WeftError } from '@weft/shared/errors';
import { deploymentSecrets, MAX_NODE_ERROR_MESSAGE_CHARS, redactError, SECRET_FRAGMENT_CHARS, SecretRedactor, secretForms } from './redact-secrets.js';

const KEY = 'sk-ant-api03-abcdEFGH1234ijklMNOP5678wxyz';
/** A value whose encoded forms all differ from it: `/`, `+`, `"`, `\` and a space. */
const ODD = 'vault/canary+"quoted" back\\slash 5e1f9a7c';

function pieces(text: string, length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + length <= text.length; i++) out.push(text.slice(i, i + length));
  return out;
}

describe('SecretRedactor', () => {
  const redactor = new SecretRedactor([KEY, ODD]);

  it('redacts the whole value, and a masked echo down to what is shorter than a piece', () => {
    expect(redactor.text(`bad key ${KEY}.`)).toBe('bad key [secret].');
    // The example: 14 characters of prefix, 4 of suffix.
    const masked = `${KEY.slice(0, 17)}****${KEY.slice(-4)}`;
    expect(redactor.text(`Incorrect API key provided: ${masked}`)).toBe('Incorrect API key provided: [secret]****wxyz');
  });

  it('redacts every piece of 8 characters or more, and none of 7', () => {
    for (const piece of pieces(KEY, SECRET_FRAGMENT_CHARS)) expect(redactor.text(`x ${piece} y`)).toBe('x [secret] y');
    for (const piece of pieces(KEY, SECRET_FRAGMENT_CHARS + 5)) expect(redactor.text(`<${piece}>`)).toBe('<[secret]>');
    expect(redactor.text(`x ${KEY.slice(3, 10)} y`)).toBe(`x ${KEY.slice(3, 10)} y`);
  });

  it('redacts the URL-encoded, JSON-escaped and base64 forms, whole and in pieces', () => {
    const forms = {
      url: encodeURIComponent(ODD),
      urlLower: encodeURIComponent(ODD).toLowerCase(),
      json: JSON.stringify(ODD).slice(1, -1),
      base64: Buffer.from(ODD).toString('base64'),
      base64url: Buffer.from(ODD).toString('base64url'),
      basicAuth: Buffer.from(`user:${ODD}`).toString('base64'),
      basicAuthShifted: Buffer.from(`ab:${ODD}:z`).toString('base64'),
    };
    for (const [name, form] of Object.entries(forms)) {
      const out = redactor.text(`echo ${form} end`);
      expect(out, name).toContain('[secret]');
      // What survives of the form is shorter than a piece of it.
      for (const piece of pieces(form, SECRET_FRAGMENT_CHARS)) expect(out, `${name}: ${piece}`).not.toContain(piece);
    }
    const keyForms = [encodeURIComponent(KEY), Buffer.from(KEY).toString('base64')];
    for (const form of keyForms) expect(redactor.text(form.slice(5, 30))).toBe('[secret]');
  });

  it('leaves ordinary text alone and replaces each covered run with one marker', () => {
    const text = 'The model answered 200 OK with 1234 tokens; nothing secret here.';
    expect(redactor.text(text)).toBe(text);
    expect(redactor.text(`${KEY} and ${KEY}${KEY}`)).toBe('[secret] and [secret]');
  });

  it('matches short values whole only, from minLength up', () => {
    const short = new SecretRedactor(['abc', 'pa55'], { minLength: 4, marker: '[redacted]' });
    expect(short.text('abc pa55 pa5')).toBe('abc [redacted] pa5');
    expect(new SecretRedactor([]).empty).toBe(true);
    expect(new SecretRedactor(['']).text('x')).toBe('x');
  });

  it('redacts keys and values of a JSON value, other leaves kept', () => {
    expect(redactor.value({ [KEY]: [`Bearer ${KEY}`, 3, null, true] })).toEqual({ '[secret]': ['Bearer [secret]', 3, null, true] });
  });

  it('lists the forms a value travels as', () => {
    const forms = secretForms('a/b+c "d"');
    expect(forms).toEqual(expect.arrayContaining(['a/b+c "d"', 'a%2Fb%2Bc%20%22d%22', 'a%2fb%2bc%20%22d%22', 'a%2Fb%2Bc+%22d%22', 'a/b+c \\"d\\"', Buffer.from('a/b+c "d"').toString('base64')]));
  });

  it('scans a 1 MB text with 20 secrets in one pass', () => {
    const secrets = Array.from({ length: 20 }, (_, i) => `secret-${i}-${'q'.repeat(20)}-${i * 7919}`);
    const many = new SecretRedactor(secrets);
    const filler = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(18_000);
    const text = `${filler}${secrets[7]!.slice(2, 20)}${filler}`;
    const out = many.text(text);
    expect(out.length).toBe(filler.length * 2 + '[secret]'.length);
  });
});

describe('redactError', () => {
  const redactor = new SecretRedactor([KEY]);

  it('redacts and caps the message, keeping code, category and Retry-After, and drops the cause', () => {
    const err = new WeftError('LLM_RATE_LIMITED', `429 for ${KEY.slice(0, 16)}**** ${'body '.repeat(1000)}`, { retryAfterMs: 900, cause: new Error(KEY), category: 'permanent' });
    const out = redactError(err, redactor);
    expect(out.code).toBe('LLM_RATE_LIMITED');
    expect(out.category).toBe('permanent');
    expect(out.retryAfterMs).toBe(900);
    expect(out.cause).toBeUndefined();
    expect(out.message.startsWith('429 for [secret]****')).toBe(true);
    expect(out.message.length).toBe(MAX_NODE_ERROR_MESSAGE_CHARS + 1);
  });

  it('keeps an unchanged error as it is only when asked to', () => {
    const err = new WeftError('LLM_AUTH', 'no', { cause: new Error('inner') });
    expect(redactError(err, redactor, { keepUnchanged: true })).toBe(err);
    expect(redactError(err, redactor).cause).toBeUndefined();
    expect(redactError(new Error('plain'), new SecretRedactor([])).code).toBe('INTERNAL_ERROR');
  });
});

describe('deploymentSecrets', () => {
  it('lists the master key in each text form, the admin token and the environment keys', () => {
    const masterKey = Buffer.alloc(32, 7);
    expect(deploymentSecrets({ masterKey, adminToken: 'admin-token-0123456789', envProviderKeys: { openai: 'sk-env', anthropic: undefined } })).toEqual([
      masterKey.toString('base64'), masterKey.toString('base64url'), masterKey.toString('hex'), 'admin-token-0123456789', 'sk-env',
    ]);
  });
});
