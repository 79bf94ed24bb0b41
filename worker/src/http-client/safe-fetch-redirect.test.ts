/** Redirect mechanics against local servers (the policy on each hop is in safe-fetch.test.ts). */
import { describe, expect, it } from 'vitest';
import { HttpClientError } from './http-client-error.js';
import type { Handler } from '../../../test/helpers/loopback-harness.js';
import { loopbackSuite } from '../../../test/helpers/loopback-suite.js';

const loopback = loopbackSuite();
const { serve, send } = loopback;

/** Answers `/r/<status>?to=<location>` with that redirect, anything else with 200 `done`. */
const redirector: Handler = (req, res) => {
  const url = new URL(req.url, 'http://x');
  const match = /^\/r\/(\d+)$/.exec(url.pathname);
  const to = url.searchParams.get('to');
  if (match?.[1] !== undefined && to !== null) {
    res.writeHead(Number(match[1]), { location: to });
    res.end('moved');
    return;
  }
  res.end('done');
};

describe('following redirects', () => {
  it.each([
    [301, 'POST', 'GET', ''],
    [302, 'POST', 'GET', ''],
    [303, 'PUT', 'GET', ''],
    [307, 'POST', 'POST', 'payload'],
    [308, 'PUT', 'PUT', 'payload'],
  ])('%i after %s → %s at the target', async (status, method, expected, body) => {
    const server = await serve(redirector);
    const res = await send({ url: `${server.origin}/r/${status}?to=/final`, method, body: 'payload', headers: { 'content-type': 'text/plain' } });
    expect(res).toMatchObject({ status: 200, body: 'done', url: `${server.origin}/final` });
    const last = server.requests[1];
    expect([last?.method, last?.body, last?.headers['content-type']]).toEqual([expected, body, body === '' ? undefined : 'text/plain']);
  });

  it('keeps Authorization on the same origin and drops it on another', async () => {
    const target = await serve(redirector);
    const origin = await serve(redirector);
    const headers = { authorization: 'Bearer secret', cookie: 's=1', 'x-keep': 'yes' };
    await send({ url: `${origin.origin}/r/302?to=/same`, headers });
    await send({ url: `${origin.origin}/r/302?to=${encodeURIComponent(`${target.origin}/cross`)}`, headers });
    expect(origin.requests.map((r) => [r.url, r.headers.authorization, r.headers.cookie])).toEqual([
      ['/r/302?to=/same', 'Bearer secret', 's=1'],
      ['/same', 'Bearer secret', 's=1'],
      [expect.stringContaining('/r/302?to='), 'Bearer secret', 's=1'],
    ]);
    expect(target.requests.map((r) => [r.url, r.headers.authorization, r.headers.cookie, r.headers['x-keep']])).toEqual([['/cross', undefined, undefined, 'yes']]);
    expect(target.requests[0]?.headers.host).toBe(`127.0.0.1:${target.port}`);
  });

  it('follows up to maxRedirects and fails on one more', async () => {
    const server = await serve(redirector);
    const chain = (n: number): string => (n === 0 ? '/final' : `/r/302?to=${encodeURIComponent(chain(n - 1))}`);
    expect(await send({ url: `${server.origin}${chain(3)}`, maxRedirects: 3 })).toMatchObject({ status: 200, url: `${server.origin}/final` });
    const err = await send({ url: `${server.origin}${chain(4)}`, maxRedirects: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpClientError);
    expect(err).toMatchObject({ code: 'HTTP_TOO_MANY_REDIRECTS', reason: 'too_many_redirects', category: 'permanent' });
    expect(server.requests).toHaveLength(4 + 4);
  });

  it('stops a redirect loop after the default of 5', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(302, { location: '/loop' });
      res.end();
    });
    await expect(send({ url: `${server.origin}/loop` })).rejects.toMatchObject({ reason: 'too_many_redirects' });
    expect(server.requests).toHaveLength(6);
  });

  it('returns the 3xx as it is with maxRedirects 0, or without a Location', async () => {
    const server = await serve((req, res) => {
      res.writeHead(302, req.url === '/bare' ? {} : { location: '/elsewhere' });
      res.end('moved');
    });
    expect(await send({ url: `${server.origin}/x`, maxRedirects: 0 })).toMatchObject({ status: 302, headers: { location: '/elsewhere' }, body: 'moved' });
    expect(await send({ url: `${server.origin}/bare` })).toMatchObject({ status: 302, body: 'moved' });
    expect(server.requests.map((r) => r.url)).toEqual(['/x', '/bare']);
  });

  it('fails on a Location that is not a URL', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(302, { location: 'http://[::1' });
      res.end();
    });
    await expect(send({ url: server.origin })).rejects.toMatchObject({ code: 'HTTP_INVALID_URL', reason: 'invalid_url' });
    expect(loopback.tripwire.attempts).toEqual(['127.0.0.1']);
  });
});
