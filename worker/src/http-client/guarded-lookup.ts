import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { checkAddress, type AddressPolicy } from './address-policy.js';
import { HttpClientError } from './http-client-error.js';

export interface GuardedLookupOptions {
  /** The resolver to wrap (`dns.lookup` in production, a stub in tests). */
  readonly lookup: LookupFunction;
  readonly policy: AddressPolicy;
}

function requestedFamily(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

function asList(address: string | LookupAddress[], family: number | undefined): LookupAddress[] {
  if (Array.isArray(address)) return address;
  return [{ address, family: family ?? (address.includes(':') ? 6 : 4) }];
}

/**
 * A `lookup` for node:net that refuses the connection when the name resolves to any address
 * the policy forbids. Because the socket connects to exactly what this function hands back,
 * the check and the connect see the same answer: a DNS record that changes in between
 * (rebinding) cannot slip through. Every family is resolved and checked, even when the
 * caller asked for one, so a name with a public A record and a loopback AAAA is refused.
 */
export function createGuardedLookup({ lookup, policy }: GuardedLookupOptions): LookupFunction {
  return (hostname, options, callback) => {
    const { family, all, ...rest } = options;
    lookup(hostname, { ...rest, family: 0, all: true }, (err, address, resolvedFamily) => {
      if (err) {
        callback(err, all === true ? [] : '');
        return;
      }
      const addresses = asList(address, resolvedFamily);
      for (const candidate of addresses) {
        const refusal = checkAddress(candidate.address, policy);
        if (refusal !== undefined) {
          const message = `refused ${hostname}: it resolves to ${refusal.reason}; the workspace does not allow this destination`;
          callback(new HttpClientError('address_blocked', message, { target: refusal.target }), all === true ? [] : '');
          return;
        }
      }
      const wanted = requestedFamily(family);
      const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
      const first = usable[0];
      if (first === undefined) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, all === true ? [] : '');
        return;
      }
      if (all === true) callback(null, usable);
      else callback(null, first.address, first.family);
    });
  };
}
