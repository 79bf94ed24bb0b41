import { describe, expect, it } from 'vitest';
import { followRedirect, isRedirectStatus, type HopRequest } from './redirect.js';

const body = Buffer.from('{"a":1}');

function hop(method: string): HopRequest {
  return {
    method,
    url: new URL('http://a.test/start'),
    headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json', Cookie: 'c=1', 'X-Trace': 'x' },
    body,
  };
}

describe('redirects', () => {
  it('recognises 301, 302, 303, 307 and 308 only', () => {
    expect([300, 301, 302, 303, 304, 305, 306, 307, 308, 309].filter(isRedirectStatus)).toEqual([301, 302, 303, 307, 308]);
  });

  it.each([
    [301, 'POST', 'GET', false],
    [302, 'POST', 'GET', false],
    [301, 'PUT', 'PUT', true],
    [302, 'DELETE', 'DELETE', true],
    [303, 'POST', 'GET', false],
    [303, 'PUT', 'GET', false],
    [303, 'GET', 'GET', true],
    [303, 'HEAD', 'HEAD', true],
    [307, 'POST', 'POST', true],
    [308, 'PUT', 'PUT', true],
  ])('%i after %s → %s (body kept: %s)', (status, method, expected, keepsBody) => {
    const next = followRedirect({ request: hop(method), status, target: new URL('http://a.test/next') });
    expect(next.method).toBe(expected);
    expect(next.body).toBe(keepsBody ? body : undefined);
    expect('Content-Type' in next.headers).toBe(keepsBody);
    expect(next.url.href).toBe('http://a.test/next');
  });

  it('keeps credentials on the same origin', () => {
    const next = followRedirect({ request: hop('GET'), status: 302, target: new URL('http://a.test/other') });
    expect(next.headers).toMatchObject({ Authorization: 'Bearer t', Cookie: 'c=1', 'X-Trace': 'x' });
  });

  it.each(['http://b.test/', 'https://a.test/', 'http://a.test:8080/'])('drops Authorization and Cookie on the way to %s', (target) => {
    const request = { ...hop('GET'), headers: { ...hop('GET').headers, host: 'a.test', 'Proxy-Authorization': 'p' } };
    const next = followRedirect({ request, status: 307, target: new URL(target) });
    expect(next.headers).toEqual({ 'Content-Type': 'application/json', 'X-Trace': 'x' });
  });
});
