import { describe, expect, it } from 'vitest';
import { isJsonMediaType, parseBody } from './parse-body.js';

describe('parseBody', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/problem+json', 'application/vnd.api+json', 'text/json'])(
    '%s is JSON',
    (type) => {
      expect(isJsonMediaType(type)).toBe(true);
      expect(parseBody(type, Buffer.from('{"ok":true,"n":[1,2]}'))).toEqual({ ok: true, n: [1, 2] });
    },
  );

  it.each([undefined, '', 'text/plain', 'text/html', 'application/jsonl', 'application/x-ndjson', 'application/octet-stream'])('%s is text', (type) => {
    expect(isJsonMediaType(type)).toBe(false);
    expect(parseBody(type, Buffer.from('{"ok":true}'))).toBe('{"ok":true}');
  });

  it('falls back to the text when JSON does not parse, and for an empty body', () => {
    expect(parseBody('application/json', Buffer.from('{"ok":'))).toBe('{"ok":');
    expect(parseBody('application/json', Buffer.alloc(0))).toBe('');
  });

  it('drops a UTF-8 BOM and honours the charset', () => {
    expect(parseBody('application/json', Buffer.from('\uFEFF[1]', 'utf8'))).toEqual([1]);
    expect(parseBody('text/plain; charset=ISO-8859-1', Buffer.from([0x63, 0x61, 0x66, 0xe9]))).toBe('café');
    expect(parseBody('text/plain; charset="utf-8"', Buffer.from('café', 'utf8'))).toBe('café');
    expect(parseBody('text/plain; charset=no-such-charset', Buffer.from('café', 'utf8'))).toBe('café');
  });

  it('parses JSON scalars', () => {
    expect(parseBody('application/json', Buffer.from('42'))).toBe(42);
    expect(parseBody('application/json', Buffer.from('"s"'))).toBe('s');
    expect(parseBody('application/json', Buffer.from('null'))).toBeNull();
  });
});
