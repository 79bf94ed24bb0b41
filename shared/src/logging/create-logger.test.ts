import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.js';

/** A logger at info whose lines are collected, parsed. */
function collecting(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger({ level: 'info', name: 'test', destination }), lines };
}

describe('createLogger redaction', () => {
  it('censors secrets at the top of a line and one level under any key, and leaves the rest', () => {
    const { log, lines } = collecting();
    const credential = { apiKey: 'sk-live-1', provider: 'openai' };
    log.info({
      apiKey: 'sk-top', token: 't0', password: 'p0', secret: 's0', masterKey: 'm0', adminToken: 'a0', authorization: 'Bearer x',
      credential, body: { token: 'tok-1', password: 'pw-1', name: 'kept' }, options: { secret: 's1', masterKey: 'm1', adminToken: 'a1', credential: 'c1' },
      list: [{ apiKey: 'in-an-array' }], executionId: 'e1', runtimeMs: 7, ready: ['b'],
    }, 'a line');
    const [line] = lines;
    expect(line).toMatchObject({
      apiKey: '[redacted]', token: '[redacted]', password: '[redacted]', secret: '[redacted]', masterKey: '[redacted]', adminToken: '[redacted]', authorization: '[redacted]',
      credential: '[redacted]',
      body: { token: '[redacted]', password: '[redacted]', name: 'kept' },
      options: { secret: '[redacted]', masterKey: '[redacted]', adminToken: '[redacted]', credential: '[redacted]' },
      executionId: 'e1', runtimeMs: 7, ready: ['b'], msg: 'a line',
    });
    // One level only, as pino's `*.key` paths: an array's items are not walked.
    expect(line?.list).toEqual([{ apiKey: 'in-an-array' }]);
    // The logged objects themselves are left as they were.
    expect(credential.apiKey).toBe('sk-live-1');
  });

  it('censors the request headers that carry credentials', () => {
    const { log, lines } = collecting();
    log.info({ req: { method: 'GET', headers: { authorization: 'Bearer k', 'x-api-key': 'k2', cookie: 'c', accept: 'json' } }, headers: { authorization: 'Bearer h' } }, 'request');
    expect(lines[0]).toMatchObject({
      req: { method: 'GET', headers: { authorization: '[redacted]', 'x-api-key': '[redacted]', cookie: '[redacted]', accept: 'json' } },
      headers: { authorization: '[redacted]' },
    });
  });

  it("censors an error's own secret and keeps what its serializer writes", () => {
    const { log, lines } = collecting();
    const err = Object.assign(new Error('upstream refused'), { token: 'tok-in-error', status: 401 });
    log.error({ err }, 'failed');
    log.error(err);
    for (const line of lines) {
      expect(line.err).toMatchObject({ type: 'Error', message: 'upstream refused', token: '[redacted]', status: 401 });
    }
    expect(lines).toHaveLength(2);
    expect(err.token).toBe('tok-in-error');
  });

  it('keeps a child logger bindings (ids) as they are, and censors its lines', () => {
    const { log, lines } = collecting();
    log.child({ executionId: 'e9', nodeId: 'n1', attempt: 2 }).warn({ context: { token: 'leak' } }, 'child line');
    expect(lines[0]).toMatchObject({ executionId: 'e9', nodeId: 'n1', attempt: 2, context: { token: '[redacted]' }, msg: 'child line' });
  });
});
