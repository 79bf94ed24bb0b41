import type { LookupAddress, LookupOptions } from 'node:dns';
import { describe, expect, it } from 'vitest';
import type { AddressPolicy } from './address-policy.js';
import { createGuardedLookup } from './guarded-lookup.js';
import { HttpClientError } from './http-client-error.js';
import { stubLookup } from '../../../test/helpers/loopback-harness.js';

interface Answer {
  err: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family?: number | undefined;
}

interface Query {
  table: Parameters<typeof stubLookup>[0];
  name: string;
  options: LookupOptions;
  policy?: AddressPolicy;
}

function resolve({ table, name, options, policy = {} }: Query): Promise<Answer> {
  const lookup = createGuardedLookup({ lookup: stubLookup(table), policy });
  return new Promise((done) => {
    lookup(name, options, (err, address, family) => {
      done({ err, address, family });
    });
  });
}

const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

describe('createGuardedLookup', () => {
  it('passes public answers through, in the shape the caller asked for', async () => {
    const table = { 'ok.test': [PUBLIC_V4, PUBLIC_V6] };
    expect(await resolve({ table, name: 'ok.test', options: { all: true } })).toEqual({
      err: null,
      address: [
        { address: PUBLIC_V4, family: 4 },
        { address: PUBLIC_V6, family: 6 },
      ],
      family: undefined,
    });
    expect(await resolve({ table, name: 'ok.test', options: {} })).toEqual({ err: null, address: PUBLIC_V4, family: 4 });
    expect(await resolve({ table, name: 'ok.test', options: { family: 6 } })).toEqual({ err: null, address: PUBLIC_V6, family: 6 });
    expect(await resolve({ table, name: 'ok.test', options: { family: 'IPv6', all: true } })).toMatchObject({ address: [{ address: PUBLIC_V6, family: 6 }] });
  });

  it.each([
    ['127.0.0.1', ['127.0.0.1']],
    ['169.254.169.254', ['169.254.169.254']],
    ['10.0.0.1 after a public one', [PUBLIC_V4, '10.0.0.1']],
    ['127.0.0.1 before a public one', ['127.0.0.1', PUBLIC_V4]],
    ['::1 next to a public IPv4', [PUBLIC_V4, '::1']],
    ['::ffff:127.0.0.1', ['::ffff:127.0.0.1']],
    ['something that is not an address', ['not-an-ip']],
  ])('refuses a name resolving to %s and hands no address back', async (_label, addresses) => {
    for (const options of [{}, { all: true }, { family: 4 }, { family: 4, all: true }]) {
      const answer = await resolve({ table: { 'evil.test': addresses }, name: 'evil.test', options });
      expect(answer.err).toBeInstanceOf(HttpClientError);
      expect(answer.err).toMatchObject({ code: 'HTTP_ADDRESS_BLOCKED', reason: 'address_blocked', category: 'permanent' });
      expect(answer.address).toEqual(options.all === true ? [] : '');
    }
  });

  it('checks every family even when the caller asks for one', async () => {
    const answer = await resolve({ table: { 'mixed.test': [PUBLIC_V4, 'fe80::1'] }, name: 'mixed.test', options: { family: 4 } });
    expect(answer.err).toMatchObject({ reason: 'address_blocked', target: 'fe80::1' });
  });

  it('asks the wrapped resolver for all addresses of every family', async () => {
    const seen: LookupOptions[] = [];
    const lookup = createGuardedLookup({
      lookup: (_name, options, callback) => {
        seen.push(options);
        callback(null, [{ address: PUBLIC_V4, family: 4 }]);
      },
      policy: {},
    });
    lookup('ok.test', { family: 6, hints: 32 }, () => undefined);
    expect(seen).toEqual([{ family: 0, all: true, hints: 32 }]);
  });

  it('accepts a resolver that answers with a single address', async () => {
    const single = createGuardedLookup({
      lookup: (_name, _options, callback) => {
        callback(null, '127.0.0.1', 4);
      },
      policy: {},
    });
    const err = await new Promise((done) => {
      single('evil.test', { all: true }, (e) => {
        done(e);
      });
    });
    expect(err).toMatchObject({ reason: 'address_blocked', target: '127.0.0.1' });
  });

  it('lets the policy allow private answers', async () => {
    expect(await resolve({ table: { 'lan.test': ['192.168.1.10'] }, name: 'lan.test', options: {}, policy: { allowPrivateNetworks: true } })).toEqual({
      err: null,
      address: '192.168.1.10',
      family: 4,
    });
    const metadata = await resolve({ table: { 'meta.test': ['169.254.169.254'] }, name: 'meta.test', options: {}, policy: { allowPrivateNetworks: true } });
    expect(metadata.err).toMatchObject({ reason: 'address_blocked', target: '169.254.169.254' });
  });

  it('passes resolver errors through and reports a missing family as ENOTFOUND', async () => {
    expect((await resolve({ table: {}, name: 'nowhere.test', options: {} })).err).toMatchObject({ code: 'ENOTFOUND' });
    expect((await resolve({ table: { 'v4only.test': [PUBLIC_V4] }, name: 'v4only.test', options: { family: 6 } })).err).toMatchObject({ code: 'ENOTFOUND' });
  });
});
