/** Request and response handling, against local servers (loopback allowed explicitly). */
import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { HttpClientError } from './http-client-error.js';
import type { SafeFetchRequest } from './safe-fetch.js';
import { stubLookup, type Handler } from '../../../test/helpers/loopback-harness.js';
import { loopbackSuite } from '../../../test/helpers/loopback-suite.js';

const loopback = loopbackSuite();
const { serve, send } = loopback;

async function failure(promise: Promise<unknown>): Promise<HttpClientError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(HttpClientError);
  return outcome as HttpClientError;
}

function classOf(err: HttpClientError): { code: string; reason: string; category: string } {
  return { code: err.code, reason: err.reason, category: err.category };
}

describe('responses', () => {
  it('parses JSON bodies, keeps text bodies, and falls back to text on bad JSON', async () => {
    const server = await serve((req, res) => {
      const routes: Record<string, [string, string]> = {
        '/json': ['application/json; charset=utf-8', '{"a":[1,2]}'],
        '/problem': ['application/problem+json', '{"title":"nope"}'],
        '/text': ['text/plain', '{"a":1}'],
        '/broken': ['application/json', '{"a":'],
      };
      const [type, body] = routes[req.url] ?? ['text/plain', ''];
      res.setHeader('content-type', type);
      res.end(body);
    });
    expect((await send({ url: `${server.origin}/json` })).body).toEqual({ a: [1, 2] });
    expect((await send({ url: `${server.origin}/problem` })).body).toEqual({ title: 'nope' });
    expect((await send({ url: `${server.origin}/text` })).body).toBe('{"a":1}');
    expect((await send({ url: `${server.origin}/broken` })).body).toBe('{"a":');
  });

  it('returns 4xx and 5xx responses instead of throwing, with flattened headers', async () => {
    const server = await serve((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-request-id', 'r1');
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"busy"}');
    });
    const res = await send({ url: `${server.origin}/x` });
    expect(res).toMatchObject({ status: 503, body: { error: 'busy' }, url: `${server.origin}/x` });
    expect(res.headers).toMatchObject({ 'set-cookie': 'a=1, b=2', 'x-request-id': 'r1', 'content-type': 'application/json' });
  });

  it('sends string and Buffer bodies with their length, method upper-cased', async () => {
    const server = await serve((_req, res) => res.end());
    await send({ url: server.origin, method: 'post', headers: { 'content-type': 'application/json' }, body: '{"é":1}' });
    await send({ url: server.origin, method: 'PUT', body: Buffer.from([1, 2, 3]) });
    expect(server.requests.map((r) => [r.method, r.headers['content-length'], r.headers['content-type']])).toEqual([
      ['POST', '8', 'application/json'],
      ['PUT', '3', undefined],
    ]);
    expect(server.requests[0]?.body).toBe('{"é":1}');
  });

  it('decodes gzip', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync('{"zipped":true}'));
    });
    expect((await send({ url: server.origin })).body).toEqual({ zipped: true });
  });

  it('ignores the Content-Length of a HEAD answer', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '5000' });
      res.end();
    });
    expect(await send({ url: server.origin, method: 'HEAD', maxResponseBytes: 100 })).toMatchObject({ status: 200, body: '' });
  });
});

describe('response size cap', () => {
  const big = 'x'.repeat(2_000);

  it('accepts a body of exactly the cap', async () => {
    const server = await serve((_req, res) => res.end(big));
    expect((await send({ url: server.origin, maxResponseBytes: 2_000 })).body).toBe(big);
  });

  it.each([
    ['declared by Content-Length', (res: Parameters<Handler>[1]) => res.end(big)],
    [
      'streamed without Content-Length',
      (res: Parameters<Handler>[1]) => {
        res.write(big.slice(0, 1_000));
        res.write(big.slice(1_000));
        res.end();
      },
    ],
    [
      'inflated from a small gzip body',
      (res: Parameters<Handler>[1]) => {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync('x'.repeat(1_000_000)));
      },
    ],
  ])('refuses a body over the cap %s', async (_label, respond) => {
    const server = await serve((_req, res) => {
      respond(res);
    });
    const err = await failure(send({ url: server.origin, maxResponseBytes: 1_999 }));
    expect(classOf(err)).toEqual({ code: 'HTTP_RESPONSE_TOO_LARGE', reason: 'response_too_large', category: 'permanent' });
  });
});

describe('deadline and cancellation', () => {
  it('times out a server that never answers, and closes the socket', async () => {
    // The server never answers: the request ends only through its own timeout.
    const server = await serve(() => undefined);
    const err = await failure(send({ url: server.origin, timeoutMs: 200 }));
    expect(classOf(err)).toEqual({ code: 'HTTP_TIMEOUT', reason: 'timeout', category: 'transient' });
    expect(err.retryable).toBe(true);
    await vi.waitFor(() => {
      expect(server.closedSockets()).toBe(1);
    });
  });

  it('times out a body that stalls half way', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const err = await failure(send({ url: server.origin, timeoutMs: 200 }));
    expect(err.reason).toBe('timeout');
    await vi.waitFor(() => {
      expect(server.closedSockets()).toBe(1);
    });
  });

  it('cancels on the caller signal and closes the socket', async () => {
    const controller = new AbortController();
    const server = await serve(() => {
      controller.abort();
    });
    const err = await failure(send({ url: server.origin, signal: controller.signal }));
    expect(classOf(err)).toEqual({ code: 'NODE_CANCELLED', reason: 'cancelled', category: 'permanent' });
    await vi.waitFor(() => {
      expect(server.closedSockets()).toBe(1);
    });
  });

  it('does not connect at all with a signal already aborted', async () => {
    const server = await serve((_req, res) => res.end());
    const err = await failure(send({ url: server.origin, signal: AbortSignal.abort() }));
    expect(err.reason).toBe('cancelled');
    expect(server.connections()).toBe(0);
    expect(loopback.tripwire.attempts).toEqual([]);
  });
});

describe('network failures', () => {
  it('a refused connection is transient', async () => {
    const server = await serve((_req, res) => res.end());
    await server.close();
    const err = await failure(send({ url: server.origin }));
    expect(classOf(err)).toEqual({ code: 'HTTP_CONNECTION', reason: 'connection_failed', category: 'transient' });
  });

  it('a reset connection is transient', async () => {
    const server = await serve((_req, res) => {
      res.socket?.destroy();
    });
    const err = await failure(send({ url: server.origin }));
    expect(classOf(err)).toEqual({ code: 'HTTP_CONNECTION', reason: 'connection_failed', category: 'transient' });
  });

  it('an unknown host is host_not_found', async () => {
    const err = await failure(send({ url: 'http://nowhere.test/', lookup: stubLookup({}) }));
    expect(classOf(err)).toEqual({ code: 'HTTP_HOST_NOT_FOUND', reason: 'host_not_found', category: 'transient' });
  });
});

describe('invalid requests', () => {
  it.each<Partial<SafeFetchRequest>>([
    { headers: { 'x-bad': 'a\r\nInjected: 1' } },
    { headers: { 'bad header': 'v' } },
    { method: 'GE T' },
    { timeoutMs: 0 },
    { timeoutMs: Number.NaN },
    { maxRedirects: -1 },
    { maxRedirects: 1.5 },
    { maxResponseBytes: 0 },
  ])('%j → invalid_request', async (extra) => {
    const server = await serve((_req, res) => res.end());
    const err = await failure(send({ url: server.origin, ...extra }));
    expect(classOf(err)).toEqual({ code: 'HTTP_INVALID_REQUEST', reason: 'invalid_request', category: 'permanent' });
    expect(server.requests).toEqual([]);
  });
});
