import { describe, expect, it } from 'vitest';
import { checkAddress, checkHostName, classifyAddress, isBlockedAddress, parseHostLiteral } from './address-policy.js';

/** What the WHATWG URL parser (Node's `URL`) makes of a host. */
function whatwgHost(host: string): string {
  const inUrl = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new URL(`http://${inUrl}/`).hostname.replace(/^\[(.*)\]$/, '$1');
}

describe('parseHostLiteral', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0X7F000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0x7f.0.0.0x1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'],
    ['169.254.43518', '169.254.169.254'],
    ['2852039166', '169.254.169.254'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['0251.0376.0251.0376', '169.254.169.254'],
    ['012.0.0.1', '10.0.0.1'],
    ['167772161', '10.0.0.1'],
    ['4294967295', '255.255.255.255'],
    ['8.8.8.8', '8.8.8.8'],
  ])('IPv4 %s → %s, as the URL parser reads it', (input, expected) => {
    expect(parseHostLiteral(input)).toMatchObject({ family: 4, address: expected });
    expect(whatwgHost(input)).toBe(expected);
  });

  it.each([
    ['::1', '::1'],
    ['[::1]', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['::FFFF:127.0.0.1', '::ffff:7f00:1'],
    ['::ffff:7f00:1', '::ffff:7f00:1'],
    ['0:0:0:0:0:ffff:7f00:0001', '::ffff:7f00:1'],
    ['::127.0.0.1', '::7f00:1'],
    ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['fe80::1:2', 'fe80::1:2'],
    ['2606:4700:4700::1111', '2606:4700:4700::1111'],
  ])('IPv6 %s → %s, as the URL parser reads it', (input, expected) => {
    expect(parseHostLiteral(input)).toMatchObject({ family: 6, address: expected });
    expect(whatwgHost(input)).toBe(expected);
  });

  it('ignores an IPv6 zone id', () => {
    expect(parseHostLiteral('fe80::1%eth0')?.address).toBe('fe80::1');
  });

  it.each([
    'example.com',
    'evil.test',
    'localhost',
    '',
    '.',
    '256.0.0.1',
    '1.256.0.1',
    '127.0.0.256',
    '127.16777216',
    '127.0.65536',
    '4294967296',
    '0x100000000',
    '1.2.3.4.5',
    '1..2.3',
    '08.0.0.1',
    '0x7g.0.0.1',
    '1e2',
    '-1',
    '127.0.0.1..',
    ':::',
    '1::2::3',
    '12345::',
    '::ffff:256.0.0.1',
    '::ffff:01.0.0.1',
    '::1.2.3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    ':1:2:3:4:5:6:7',
    '1.2.3.4::',
    '[::1',
  ])('%j is not an IP literal', (input) => {
    expect(parseHostLiteral(input)).toBeUndefined();
  });

  it('agrees with the URL parser on every decimal, hex and short form of random addresses', () => {
    let seed = 0x9e3779b9;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 300; i += 1) {
      const value = next();
      const a = value >>> 24;
      const rest = value % 2 ** 24;
      for (const form of [String(value), `0x${value.toString(16)}`, `0${value.toString(8)}`, `${a}.${rest}`, `0x${a.toString(16)}.0${rest.toString(8)}`]) {
        expect(parseHostLiteral(form)?.address, form).toBe(whatwgHost(form));
      }
    }
  });
});

describe('classifyAddress and isBlockedAddress', () => {
  it.each([
    ['0.0.0.0', 'unspecified', '0.0.0.0/8'],
    ['0.255.255.255', 'unspecified', '0.0.0.0/8'],
    ['10.0.0.1', 'private', '10.0.0.0/8'],
    ['10.255.255.255', 'private', '10.0.0.0/8'],
    ['100.64.0.0', 'shared', '100.64.0.0/10'],
    ['100.127.255.255', 'shared', '100.64.0.0/10'],
    ['127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['127.255.255.254', 'loopback', '127.0.0.0/8'],
    ['169.254.0.1', 'link-local', '169.254.0.0/16'],
    ['169.254.169.254', 'metadata', '169.254.169.254/32'],
    ['169.254.170.2', 'metadata', '169.254.170.2/32'],
    ['100.100.100.200', 'metadata', '100.100.100.200/32'],
    ['168.63.129.16', 'metadata', '168.63.129.16/32'],
    ['172.16.0.0', 'private', '172.16.0.0/12'],
    ['172.31.255.255', 'private', '172.16.0.0/12'],
    ['192.0.0.1', 'reserved', '192.0.0.0/24'],
    ['192.0.0.192', 'metadata', '192.0.0.192/32'],
    ['192.0.2.1', 'documentation', '192.0.2.0/24'],
    ['192.88.99.1', 'reserved', '192.88.99.0/24'],
    ['192.168.1.1', 'private', '192.168.0.0/16'],
    ['198.18.0.1', 'benchmarking', '198.18.0.0/15'],
    ['198.19.255.255', 'benchmarking', '198.18.0.0/15'],
    ['198.51.100.7', 'documentation', '198.51.100.0/24'],
    ['203.0.113.9', 'documentation', '203.0.113.0/24'],
    ['224.0.0.1', 'multicast', '224.0.0.0/4'],
    ['239.255.255.255', 'multicast', '224.0.0.0/4'],
    ['240.0.0.1', 'reserved', '240.0.0.0/4'],
    ['255.255.255.254', 'reserved', '240.0.0.0/4'],
    ['255.255.255.255', 'broadcast', '255.255.255.255/32'],
    ['::', 'unspecified', '::/128'],
    ['::1', 'loopback', '::1/128'],
    ['[::1]', 'loopback', '::1/128'],
    ['::7f00:1', 'reserved', '::/96'],
    ['fc00::1', 'private', 'fc00::/7'],
    ['fd12:3456::1', 'private', 'fc00::/7'],
    ['fd00:ec2::254', 'metadata', 'fd00:ec2::254/128'],
    ['fe80::1', 'link-local', 'fe80::/10'],
    ['febf:ffff::1', 'link-local', 'fe80::/10'],
    ['fec0::1', 'private', 'fec0::/10'],
    ['ff02::1', 'multicast', 'ff00::/8'],
    ['2001:db8::1', 'documentation', '2001:db8::/32'],
    ['2001:0:4136:e378::1', 'reserved', '2001::/23'],
    ['3fff::1', 'documentation', '3fff::/20'],
    ['64:ff9b:1::1', 'private', '64:ff9b:1::/48'],
    ['100::1', 'reserved', '100::/64'],
    ['1::1', 'reserved', 'outside 2000::/3'],
    ['4000::1', 'reserved', 'outside 2000::/3'],
  ])('%s is %s (%s)', (ip, kind, rule) => {
    expect(classifyAddress(ip)).toMatchObject({ kind, rule });
    expect(isBlockedAddress(ip)).toBe(true);
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', '127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', '169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', '10.0.0.1', 'private'],
    ['::ffff:0.0.0.0', '0.0.0.0', 'unspecified'],
    ['64:ff9b::127.0.0.1', '127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254', 'metadata'],
    ['2002:7f00:1::1', '127.0.0.1', 'loopback'],
    ['2002:c0a8:101::', '192.168.1.1', 'private'],
  ])('%s embeds %s and is judged by it (%s)', (ip, v4, kind) => {
    expect(classifyAddress(ip)).toMatchObject({ kind, embeddedIpv4: v4 });
    expect(isBlockedAddress(ip)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.255',
    '192.0.3.0',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2001:200::1',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
  ])('%s is globally routable', (ip) => {
    expect(classifyAddress(ip)).toBeUndefined();
    expect(isBlockedAddress(ip)).toBe(false);
    expect(isBlockedAddress(ip, { allowPrivateNetworks: true, allowMetadataEndpoints: true })).toBe(false);
  });

  it.each(['127.1', '2130706433', '0x7f000001', '0177.0.0.1', '[::ffff:127.0.0.1]', '0xa9fea9fe', '012.1'])(
    'judges the literal form %s by its value',
    (ip) => {
      expect(isBlockedAddress(ip)).toBe(true);
    },
  );

  it('fails closed on anything that is not an IP address', () => {
    expect(classifyAddress('example.com')).toEqual({ kind: 'unrecognised', rule: 'not an IP address' });
    expect(isBlockedAddress('example.com')).toBe(true);
    expect(isBlockedAddress('', { allowPrivateNetworks: true, allowMetadataEndpoints: true })).toBe(true);
  });
});

describe('checkAddress policies', () => {
  const internal = ['127.0.0.1', '::1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.1.1', '169.254.1.1', 'fe80::1', 'fd12::1', '198.18.0.1', '0.0.0.0', '::ffff:10.0.0.1'];
  const metadata = ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '::ffff:169.254.169.254'];
  const never = ['192.0.2.1', '198.51.100.1', '203.0.113.1', '224.0.0.1', '240.0.0.1', '255.255.255.255', 'ff02::1', '2001:db8::1', '::7f00:1'];

  it('refuses all of them by default', () => {
    for (const ip of [...internal, ...metadata, ...never]) expect(checkAddress(ip), ip).toBeDefined();
  });

  it('allowPrivateNetworks lifts the internal ranges only, not metadata', () => {
    const policy = { allowPrivateNetworks: true };
    for (const ip of internal) expect(checkAddress(ip, policy), ip).toBeUndefined();
    for (const ip of [...metadata, ...never]) expect(checkAddress(ip, policy), ip).toBeDefined();
  });

  it('allowMetadataEndpoints lifts metadata only', () => {
    const policy = { allowMetadataEndpoints: true };
    for (const ip of metadata) expect(checkAddress(ip, policy), ip).toBeUndefined();
    for (const ip of [...internal, ...never]) expect(checkAddress(ip, policy), ip).toBeDefined();
  });

  it('explains the refusal with the normalised address and the range', () => {
    expect(checkAddress('0x7f000001')).toEqual({
      target: '127.0.0.1',
      kind: 'loopback',
      rule: '127.0.0.0/8',
      reason: '127.0.0.1 is in 127.0.0.0/8 (loopback)',
    });
    expect(checkAddress('::ffff:169.254.169.254')).toMatchObject({
      target: '::ffff:a9fe:a9fe',
      kind: 'metadata',
      rule: '::ffff:0:0/96 → 169.254.169.254/32',
      reason: '::ffff:a9fe:a9fe (embeds 169.254.169.254) is in ::ffff:0:0/96 → 169.254.169.254/32 (metadata)',
    });
  });
});

describe('checkHostName', () => {
  it.each(['metadata.google.internal', 'METADATA.Google.Internal.', 'metadata', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal'])(
    'refuses the metadata name %s, even with private networks allowed',
    (name) => {
      expect(checkHostName(name)).toMatchObject({ kind: 'metadata' });
      expect(checkHostName(name, { allowPrivateNetworks: true })).toMatchObject({ kind: 'metadata' });
      expect(checkHostName(name, { allowMetadataEndpoints: true })).toBeUndefined();
    },
  );

  it.each(['localhost', 'LOCALHOST.', 'app.localhost', 'a.b.localhost'])('refuses %s unless private networks are allowed', (name) => {
    expect(checkHostName(name)).toMatchObject({ kind: 'loopback' });
    expect(checkHostName(name, { allowPrivateNetworks: true })).toBeUndefined();
  });

  it.each(['example.com', 'localhost.example.com', 'notlocalhost', 'metadata.example.com', 'evil.test'])('leaves %s to the resolver', (name) => {
    expect(checkHostName(name)).toBeUndefined();
  });
});
