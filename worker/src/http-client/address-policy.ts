/**
 * Which destinations an outbound HTTP request may reach. Pure: callers pass the addresses a
 * resolver returned (or the literal in the URL); this file decides.
 */
import { formatIpv4, parseHostLiteral, parseIpv4, parseIpv6 } from './host-literal.js';

export { parseHostLiteral, type HostLiteral } from './host-literal.js';

/**
 * `internal` kinds are lifted by `allowPrivateNetworks`, `metadata` only by
 * `allowMetadataEndpoints` (reaching the network must not hand out cloud credentials too);
 * the rest are never valid destinations.
 */
export type AddressKind =
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'benchmarking'
  | 'unspecified'
  | 'metadata'
  | 'documentation'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'unrecognised';

const INTERNAL_KINDS: ReadonlySet<AddressKind> = new Set(['loopback', 'private', 'shared', 'link-local', 'benchmarking', 'unspecified']);

export interface AddressPolicy {
  /** Allows loopback, private, CGNAT, link-local and benchmarking ranges (not metadata). */
  readonly allowPrivateNetworks?: boolean;
  /** Allows the cloud metadata endpoints (169.254.169.254 and friends, `metadata.google.internal`). */
  readonly allowMetadataEndpoints?: boolean;
}

export interface AddressRefusal {
  /** The address or host name that was refused, normalised. */
  readonly target: string;
  readonly kind: AddressKind;
  /** The matching range (`127.0.0.0/8`) or name rule. */
  readonly rule: string;
  /** Human-readable, e.g. `127.0.0.1 is in 127.0.0.0/8 (loopback)`. */
  readonly reason: string;
}

interface Range {
  readonly family: 4 | 6;
  readonly cidr: string;
  readonly network: bigint;
  readonly prefix: number;
  readonly kind: AddressKind;
  /** How the IPv4 address embedded in this IPv6 range is extracted; it is then judged as IPv4. */
  readonly embedded?: (value: bigint) => bigint;
}

function range(cidr: string, kind: AddressKind, embedded?: (value: bigint) => bigint): Range {
  const [text = '', bits = ''] = cidr.split('/');
  const v4 = text.includes(':') ? undefined : parseIpv4(text);
  const network = v4 === undefined ? parseIpv6(text) : BigInt(v4);
  if (network === undefined) throw new Error(`bad range ${cidr}`);
  const base = { family: v4 === undefined ? 6 : 4, cidr, network, prefix: Number(bits), kind } as const;
  return embedded === undefined ? base : { ...base, embedded };
}

const low32 = (value: bigint): bigint => value & 0xffffffffn;
const sixToFour = (value: bigint): bigint => (value >> 80n) & 0xffffffffn;

// Most specific first: the first match decides the kind.
const RANGES: readonly Range[] = [
  range('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OCI, DigitalOcean...
  range('169.254.170.2/32', 'metadata'), // AWS ECS task credentials
  range('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  range('168.63.129.16/32', 'metadata'), // Azure WireServer (a public address reachable only from Azure hosts)
  range('192.0.0.192/32', 'metadata'), // Oracle Cloud (legacy)
  range('fd00:ec2::254/128', 'metadata'), // AWS IMDS over IPv6
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'shared'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'reserved'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', 'reserved'), // deprecated 6to4 relay anycast
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'benchmarking'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('255.255.255.255/32', 'broadcast'),
  range('240.0.0.0/4', 'reserved'),
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('::ffff:0:0/96', 'reserved', low32), // IPv4-mapped: judged by the IPv4 address
  range('64:ff9b::/96', 'reserved', low32), // NAT64: judged by the IPv4 address
  range('2002::/16', 'reserved', sixToFour), // 6to4: judged by the IPv4 address
  range('::/96', 'reserved'), // IPv4-compatible, deprecated
  range('64:ff9b:1::/48', 'private'), // local-use NAT64
  range('100::/64', 'reserved'), // discard-only
  range('2001:db8::/32', 'documentation'),
  range('2001::/23', 'reserved'), // IETF protocol assignments, incl. Teredo
  range('3fff::/20', 'documentation'),
  range('5f00::/16', 'reserved'), // SRv6 SIDs
  range('fc00::/7', 'private'), // unique local
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'private'), // site-local, deprecated
  range('ff00::/8', 'multicast'),
];

/** Everything outside global unicast that no range above named. */
const GLOBAL_UNICAST_V6 = range('2000::/3', 'reserved');

function contains(r: Range, value: bigint): boolean {
  const width = BigInt((r.family === 4 ? 32 : 128) - r.prefix);
  return value >> width === r.network >> width;
}

export interface AddressClass {
  readonly kind: AddressKind;
  readonly rule: string;
  /** For IPv4-mapped, NAT64 and 6to4 addresses: the IPv4 address that was judged. */
  readonly embeddedIpv4?: string;
}

/**
 * The special-purpose range an address falls in, or undefined for a globally routable address.
 * Anything that is not an IP address is `unrecognised` (callers fail closed).
 */
export function classifyAddress(ip: string): AddressClass | undefined {
  const literal = parseHostLiteral(ip);
  if (literal === undefined) return { kind: 'unrecognised', rule: 'not an IP address' };
  for (const r of RANGES) {
    if (r.family !== literal.family || !contains(r, literal.value)) continue;
    if (r.embedded === undefined) return { kind: r.kind, rule: r.cidr };
    const v4 = formatIpv4(Number(r.embedded(literal.value)));
    const inner = classifyAddress(v4);
    return inner === undefined ? undefined : { kind: inner.kind, rule: `${r.cidr} → ${inner.rule}`, embeddedIpv4: v4 };
  }
  if (literal.family === 6 && !contains(GLOBAL_UNICAST_V6, literal.value)) {
    return { kind: 'reserved', rule: `outside ${GLOBAL_UNICAST_V6.cidr}` };
  }
  return undefined;
}

function allows(policy: AddressPolicy, kind: AddressKind): boolean {
  if (kind === 'metadata') return policy.allowMetadataEndpoints === true;
  return INTERNAL_KINDS.has(kind) && policy.allowPrivateNetworks === true;
}

/** Why `ip` may not be reached under `policy`, or undefined when it may. */
export function checkAddress(ip: string, policy: AddressPolicy = {}): AddressRefusal | undefined {
  const found = classifyAddress(ip);
  if (found === undefined || allows(policy, found.kind)) return undefined;
  const target = parseHostLiteral(ip)?.address ?? ip;
  const via = found.embeddedIpv4 === undefined ? '' : ` (embeds ${found.embeddedIpv4})`;
  return { target, kind: found.kind, rule: found.rule, reason: `${target}${via} is in ${found.rule} (${found.kind})` };
}

/** True when `ip` may not be reached under `policy` (and for anything that is not an IP). */
export function isBlockedAddress(ip: string, policy: AddressPolicy = {}): boolean {
  return checkAddress(ip, policy) !== undefined;
}

const METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** Lowercase, without the trailing dots that resolvers ignore. */
export function normaliseHostName(host: string): string {
  return host.trim().toLowerCase().replace(/\.+$/, '');
}

/**
 * Refusal by name, before any lookup: cloud metadata names (which may resolve anywhere on a
 * misconfigured resolver) and `localhost`/`*.localhost` (RFC 6761: always loopback).
 */
export function checkHostName(host: string, policy: AddressPolicy = {}): AddressRefusal | undefined {
  const name = normaliseHostName(host);
  if (METADATA_NAMES.has(name) && !allows(policy, 'metadata')) {
    return { target: name, kind: 'metadata', rule: 'metadata host name', reason: `${name} is a cloud metadata host name` };
  }
  if ((name === 'localhost' || name.endsWith('.localhost')) && !allows(policy, 'loopback')) {
    return { target: name, kind: 'loopback', rule: 'localhost name', reason: `${name} always resolves to loopback` };
  }
  return undefined;
}
