/**
 * Recognises IP literals in every spelling a URL parser or a C resolver accepts, so that the
 * address policy judges what the socket would really connect to, not what the string looks like.
 * Pure: no I/O.
 */

export type HostLiteral =
  | { readonly family: 4; readonly address: string; readonly value: bigint }
  | { readonly family: 6; readonly address: string; readonly value: bigint };

const IPV4_PART_PATTERNS: Record<8 | 10 | 16, RegExp> = {
  8: /^[0-7]*$/,
  10: /^[0-9]+$/,
  16: /^[0-9a-fA-F]*$/,
};

/**
 * One IPv4 part as the WHATWG URL parser and inet_aton read it: `0x`/`0X` prefix is hex
 * (`0x` alone is 0), a leading `0` is octal, anything else decimal.
 */
function parseIpv4Part(part: string): number | undefined {
  if (part === '') return undefined;
  let digits = part;
  let radix: 8 | 10 | 16 = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1);
    radix = 8;
  }
  if (!IPV4_PART_PATTERNS[radix].test(digits)) return undefined;
  if (digits === '') return 0;
  // Precision loss above 2^53 does not matter: anything that large is rejected by the caller.
  return parseInt(digits, radix);
}

/**
 * Parses IPv4 in the forms the WHATWG URL parser and inet_aton agree on: 1 to 4 parts, each
 * decimal, octal or hex, the last one filling the remaining bytes (`127.1`, `127.0.1`,
 * `2130706433`, `0x7f000001`, `0177.0.0.1`), and one trailing dot. Returns the 32-bit value.
 */
export function parseIpv4(input: string): number | undefined {
  const parts = input.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIpv4Part(part);
    if (n === undefined) return undefined;
    numbers.push(n);
  }
  const last = numbers.pop();
  if (last === undefined || last >= 256 ** (4 - numbers.length)) return undefined;
  let value = last;
  for (const [i, n] of numbers.entries()) {
    if (n > 255) return undefined;
    value += n * 256 ** (3 - i);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Strict dotted-decimal IPv4 as allowed at the end of an IPv6 address (`::ffff:127.0.0.1`). */
function parseEmbeddedIpv4(input: string): number | undefined {
  const parts = input.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

function parseIpv6Groups(piece: string, allowEmbeddedIpv4: boolean): number[] | undefined {
  if (piece === '') return [];
  const groups: number[] = [];
  const tokens = piece.split(':');
  for (const [i, token] of tokens.entries()) {
    if (allowEmbeddedIpv4 && i === tokens.length - 1 && token.includes('.')) {
      const v4 = parseEmbeddedIpv4(token);
      if (v4 === undefined) return undefined;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(token)) return undefined;
      groups.push(parseInt(token, 16));
    }
  }
  return groups;
}

/**
 * Parses an IPv6 address, with or without brackets, with `::` compression and an optional
 * dotted IPv4 tail. A zone id (`%eth0`) is ignored. Returns the 128-bit value.
 */
export function parseIpv6(input: string): bigint | undefined {
  let text = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  if (!text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseIpv6Groups(halves[0] ?? '', false);
    const tail = parseIpv6Groups(halves[1] ?? '', true);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseIpv6Groups(text, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** RFC 5952 text: lowercase, no leading zeros, the first longest run of 2+ zero groups as `::`. */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Recognises `host` (a URL host name, bracketed or not) as an IP literal and normalises it:
 * `127.1`, `2130706433`, `0x7f000001` and `0177.0.0.1` all give `127.0.0.1`; `[::FFFF:127.0.0.1]`
 * gives `::ffff:7f00:1`. Returns undefined for a host name that is to be resolved. A trailing
 * dot is accepted on IPv4 (`127.0.0.1.`), as URL parsers do.
 */
export function parseHostLiteral(host: string): HostLiteral | undefined {
  const trimmed = host.trim();
  if (trimmed.includes(':')) {
    const v6 = parseIpv6(trimmed);
    return v6 === undefined ? undefined : { family: 6, address: formatIpv6(v6), value: v6 };
  }
  const v4 = parseIpv4(trimmed);
  return v4 === undefined ? undefined : { family: 4, address: formatIpv4(v4), value: BigInt(v4) };
}
