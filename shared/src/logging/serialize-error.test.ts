import { Writable } from 'node:stream';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.js';
import { paramsShape } from './serialize-error.js';

const SECRET_FLOW = JSON.stringify({ name: 'confidential-flow-name', nodes: [{ prompt: 'the tenant secret prompt' }] });

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, logger: createLogger({ level: 'info', name: 'test', destination }) };
}

describe('error serializer', () => {
  it('logs a failed statement with the shape of its parameters, never their values', () => {
    const { lines, logger } = capture();
    const cause = Object.assign(new Error('unsupported Unicode escape sequence'), {
      code: '22P05',
      severity: 'ERROR',
      detail: '\\u0000 cannot be converted to text.',
      where: `JSON data, line 1: ${SECRET_FLOW.slice(0, 30)}`,
    });
    const err = new DrizzleQueryError('insert into "flows" ("name", "definition") values ($1, $2)', ['confidential-flow-name', SECRET_FLOW], cause);
    logger.error({ err }, 'request failed');
    const line = lines.join('');
    expect(line).not.toContain('confidential');
    expect(line).not.toContain('tenant secret');
    const logged = JSON.parse(line) as { err: { message: string; stack: string; params: string } };
    expect(logged.err.message).toContain('insert into "flows"');
    expect(logged.err.message).toContain(`params: [string(22), string(${SECRET_FLOW.length})]`);
    expect(logged.err.stack).toContain('params: [string(22)');
    expect(logged.err.params).toBe(`[string(22), string(${SECRET_FLOW.length})]`);
  });

  it('keeps other errors as pino logs them', () => {
    const { lines, logger } = capture();
    logger.error({ err: new Error('plain failure') }, 'x');
    expect((JSON.parse(lines.join('')) as { err: { message: string } }).err.message).toBe('plain failure');
  });

  it('names types and lengths', () => {
    expect(paramsShape(['ab', 1, null, true, Buffer.from('xyz'), new Date(0), [1, 2], { a: 1 }])).toBe('[string(2), number, null, boolean, bytes(3), date, array(2), object]');
  });
});
