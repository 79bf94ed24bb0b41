/**
 * The SSRF guard end to end: nothing here may leave loopback. Refusals are shown to happen
 * before any connection (no socket connect for literals; for names, the resolver's answer
 * never reaches the socket), and a local server proves it received nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toWeftError } from '@weft/shared/errors';
import { HttpClientError } from './http-client-error.js';
import { safeFetch, type SafeFetchRequest } from './safe-fetch.js';
import { installConnectionTripwire, startLocalServer, stubLookup, type ConnectionTripwire, type LocalServer } from '../../../test/helpers/loopback-harness.js';

const PUBLIC_V4 = '93.184.215.14';

let server: LocalServer;
let other: LocalServer;
let tripwire: ConnectionTripwire;

beforeEach(async () => {
  tripwire = installConnectionTripwire();
  server = await startLocalServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  other = await startLocalServer((_req, res) => {
    res.end('other');
  });
});

afterEach(async () => {
  tripwire.restore();
  await Promise.all([server.close(), other.close()]);
});

function get(url: string, extra: Partial<SafeFetchRequest> = {}): Promise<unknown> {
  return safeFetch({ method: 'GET', url, timeoutMs: 5_000, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<HttpClientError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(HttpClientError);
  return outcome as HttpClientError;
}

function expectRefused(err: HttpClientError, target: string): void {
  expect({ code: err.code, reason: err.reason, category: err.category, retryable: err.retryable, target: err.target }).toEqual({
    code: 'HTTP_ADDRESS_BLOCKED',
    reason: 'address_blocked',
    category: 'permanent',
    retryable: false,
    target,
  });
  expect(err.message).toContain(target);
}

function expectNothingReachedServers(): void {
  expect(server.connections()).toBe(0);
  expect(other.connections()).toBe(0);
  expect(tripwire.handedToSocket).toEqual([]);
  expect(tripwire.tripped).toEqual([]);
}

describe('safeFetch refuses internal IP literals before connecting', () => {
  it.each([
    ['http://127.0.0.1:{port}/', '127.0.0.1'],
    ['http://127.1:{port}/', '127.0.0.1'],
    ['http://127.0.1:{port}/', '127.0.0.1'],
    ['http://2130706433:{port}/', '127.0.0.1'],
    ['http://0x7f000001:{port}/', '127.0.0.1'],
    ['http://0177.0.0.1:{port}/', '127.0.0.1'],
    ['http://127.0.0.1.:{port}/', '127.0.0.1'],
    ['http://[::1]:{port}/', '::1'],
    ['http://[::ffff:127.0.0.1]:{port}/', '::ffff:7f00:1'],
    ['http://[::ffff:7f00:1]:{port}/', '::ffff:7f00:1'],
    ['http://0.0.0.0:{port}/', '0.0.0.0'],
    ['http://[::]:{port}/', '::'],
    ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', '169.254.169.254'],
    ['http://0xa9fea9fe/', '169.254.169.254'],
    ['http://169.254.43518/', '169.254.169.254'],
    ['https://169.254.169.254/', '169.254.169.254'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254'],
    ['http://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe'],
    ['http://10.0.0.1/', '10.0.0.1'],
    ['http://192.168.1.1/', '192.168.1.1'],
    ['http://172.16.0.1:8080/', '172.16.0.1'],
    ['http://100.64.0.1/', '100.64.0.1'],
    ['http://[fe80::1]/', 'fe80::1'],
    ['http://224.0.0.1/', '224.0.0.1'],
  ])('%s → refused (%s)', async (template, target) => {
    const lookup = stubLookup({});
    const err = await failure(get(template.replace('{port}', String(server.port)), { lookup }));
    expectRefused(err, target);
    expect(tripwire.attempts).toEqual([]);
    expect(lookup.calls).toEqual([]);
    expectNothingReachedServers();
  });

  it('keeps metadata refused when private networks are allowed', async () => {
    expectRefused(await failure(get('http://169.254.169.254/latest/meta-data/', { allowPrivateNetworks: true })), '169.254.169.254');
    expect(tripwire.attempts).toEqual([]);
  });

  it('names the origin but never the path or query in the message', async () => {
    const err = await failure(get('http://10.0.0.1/admin?token=s3cr3t'));
    expect(err.message).toContain('10.0.0.1');
    expect(err.message).not.toContain('s3cr3t');
    expect(err.message).not.toContain('/admin');
  });

  it('stays a permanent error through toWeftError', async () => {
    const err = toWeftError(await failure(get('http://127.0.0.1/')));
    expect({ code: err.code, category: err.category, retryable: err.retryable }).toEqual({ code: 'HTTP_ADDRESS_BLOCKED', category: 'permanent', retryable: false });
  });
});

describe('safeFetch judges host names on the resolved addresses, at connect time', () => {
  it.each([
    ['evil.test', ['127.0.0.1'], '127.0.0.1'],
    ['evil.test', ['::1'], '::1'],
    ['evil.test', ['::ffff:127.0.0.1'], '::ffff:7f00:1'],
    ['evil.test', ['169.254.169.254'], '169.254.169.254'],
    ['evil.test', ['10.0.0.1'], '10.0.0.1'],
    ['mixed.test', ['127.0.0.1', PUBLIC_V4], '127.0.0.1'],
  ])('%s resolving to %j → refused (%s), the socket gets no address', async (name, addresses, target) => {
    const lookup = stubLookup({ [name]: addresses });
    const err = await failure(get(`http://${name}:${server.port}/`, { lookup }));
    expectRefused(err, target);
    expect(err.message).toContain(name);
    expect(lookup.calls).toEqual([name]);
    expectNothingReachedServers();
  });

  it('resolves once per connection: a record that changes after the check is never used', async () => {
    // First answer public, later answers loopback: a client that checked in one lookup and
    // connected after another would reach the local server. The tripwire keeps the public
    // address from being dialled.
    const lookup = stubLookup({ 'rebind.test': [[PUBLIC_V4], ['127.0.0.1']] });
    const err = await failure(get(`http://rebind.test:${server.port}/`, { lookup }));
    expect(err.reason).toBe('connection_failed');
    expect(lookup.calls).toEqual(['rebind.test']);
    expect(tripwire.tripped).toEqual([PUBLIC_V4]);
    expect(server.connections()).toBe(0);
  });

  it.each(['metadata.google.internal', 'METADATA.google.internal.', 'metadata', 'instance-data', 'localhost', 'api.localhost'])(
    'refuses %s by name without resolving it',
    async (name) => {
      const lookup = stubLookup({ [name]: ['127.0.0.1'] });
      const err = await failure(get(`http://${name}:${server.port}/`, { lookup }));
      expect({ code: err.code, reason: err.reason }).toEqual({ code: 'HTTP_ADDRESS_BLOCKED', reason: 'address_blocked' });
      expect(lookup.calls).toEqual([]);
      expect(tripwire.attempts).toEqual([]);
      expectNothingReachedServers();
    },
  );
});

describe('safeFetch speaks http and https only', () => {
  it.each(['ftp://127.0.0.1/file', 'file:///etc/passwd', 'gopher://127.0.0.1:70/_stats', 'data:text/plain,hi', 'javascript:alert(1)', 'ws://127.0.0.1/', 'dict://127.0.0.1:11211/stat'])(
    '%s → refused',
    async (url) => {
      const err = await failure(get(url));
      expect({ code: err.code, reason: err.reason, category: err.category }).toEqual({ code: 'HTTP_INVALID_URL', reason: 'unsupported_protocol', category: 'permanent' });
      expect(tripwire.attempts).toEqual([]);
    },
  );

  it.each(['not a url', 'http://', '//127.0.0.1/', 'http://user:pass@public.test/'])('%s → invalid_url', async (url) => {
    const err = await failure(get(url, { lookup: stubLookup({ 'public.test': ['127.0.0.1'] }) }));
    expect({ code: err.code, reason: err.reason }).toEqual({ code: 'HTTP_INVALID_URL', reason: 'invalid_url' });
    expect(tripwire.attempts).toEqual([]);
  });
});

describe('safeFetch when the workspace allows a destination', () => {
  it('reaches loopback with allowPrivateNetworks', async () => {
    const res = await get(`${server.origin}/hello?x=1`, { allowPrivateNetworks: true });
    expect(res).toMatchObject({ status: 200, body: { ok: true }, url: `${server.origin}/hello?x=1` });
    expect(server.requests.map((r) => r.url)).toEqual(['/hello?x=1']);
    // The tripwire is armed: it saw this connection.
    expect(tripwire.attempts).toEqual(['127.0.0.1']);
  });

  it('reaches a name resolving to loopback with allowPrivateNetworks, and sends its Host', async () => {
    const lookup = stubLookup({ 'evil.test': ['127.0.0.1'], localhost: ['127.0.0.1'] });
    await get(`http://evil.test:${server.port}/`, { allowPrivateNetworks: true, lookup });
    await get(`http://localhost:${server.port}/`, { allowPrivateNetworks: true, lookup });
    expect(server.requests.map((r) => r.headers.host)).toEqual([`evil.test:${server.port}`, `localhost:${server.port}`]);
    expect(tripwire.handedToSocket).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('lets allowMetadataEndpoints lift the refusal by name', async () => {
    const lookup = stubLookup({ 'metadata.google.internal': ['127.0.0.1'] });
    const res = await get(`http://metadata.google.internal:${server.port}/`, { allowPrivateNetworks: true, allowMetadataEndpoints: true, lookup });
    expect(res).toMatchObject({ status: 200 });
  });

  it('exempts allowHosts entries, by name or literal', async () => {
    const lookup = stubLookup({ 'public.test': ['127.0.0.1'] });
    await get(`http://PUBLIC.test:${server.port}/a`, { allowHosts: ['public.test'], lookup });
    await get(`http://127.0.0.1:${server.port}/b`, { allowHosts: ['127.1'] });
    expect(server.requests.map((r) => r.url)).toEqual(['/a', '/b']);
  });
});

describe('safeFetch judges every redirect hop again', () => {
  async function redirectingTo(location: string): Promise<void> {
    await server.close();
    server = await startLocalServer((_req, res) => {
      res.writeHead(302, { location });
      res.end();
    });
  }

  const allowedFirstHop = (): Partial<SafeFetchRequest> => ({
    allowHosts: ['public.test'],
    lookup: stubLookup({ 'public.test': ['127.0.0.1'], 'evil.test': ['127.0.0.1'] }),
  });

  it('refuses a redirect to http://169.254.169.254/ without connecting to it', async () => {
    await redirectingTo('http://169.254.169.254/latest/meta-data/');
    const err = await failure(get(`http://public.test:${server.port}/start`, allowedFirstHop()));
    expectRefused(err, '169.254.169.254');
    expect(server.requests).toHaveLength(1);
    expect(tripwire.attempts).toEqual(['public.test']);
    expect(tripwire.tripped).toEqual([]);
  });

  it.each([
    ['http://evil.test:{other}/', '127.0.0.1'],
    ['http://127.1:{other}/', '127.0.0.1'],
    ['http://2130706433:{other}/', '127.0.0.1'],
    ['http://[::ffff:127.0.0.1]:{other}/', '::ffff:7f00:1'],
    ['http://10.0.0.1/', '10.0.0.1'],
  ])('refuses a redirect to %s (%s)', async (template, target) => {
    await redirectingTo(template.replace('{other}', String(other.port)));
    const err = await failure(get(`http://public.test:${server.port}/`, allowedFirstHop()));
    expectRefused(err, target);
    expect(server.requests).toHaveLength(1);
    expect(other.connections()).toBe(0);
    expect(tripwire.tripped).toEqual([]);
  });

  it.each(['ftp://public.test/x', 'file:///etc/passwd'])('refuses a redirect to %s', async (location) => {
    await redirectingTo(location);
    const err = await failure(get(`http://public.test:${server.port}/`, allowedFirstHop()));
    expect({ code: err.code, reason: err.reason }).toEqual({ code: 'HTTP_INVALID_URL', reason: 'unsupported_protocol' });
  });

  it('refuses a redirect to metadata even when private networks are allowed', async () => {
    await redirectingTo('http://metadata.google.internal/computeMetadata/v1/');
    const err = await failure(get(`${server.origin}/`, { allowPrivateNetworks: true, lookup: stubLookup({ 'metadata.google.internal': ['127.0.0.1'] }) }));
    expect(err.reason).toBe('address_blocked');
    expect(tripwire.attempts).toEqual(['127.0.0.1']);
  });
});
