import { isIP } from 'node:net';
import { checkAddress, checkHostName, parseHostLiteral, type AddressPolicy, type AddressRefusal } from './address-policy.js';

/**
 * What can be judged of a host before connecting: an IP literal in any spelling (node:net
 * connects to a canonical literal without a lookup, so this is its only check), a literal this
 * code cannot parse (refused: fail closed), and names refused outright (metadata names,
 * `localhost`). Any other name is judged later, on what it resolves to, by the guarded lookup.
 * Brackets around an IPv6 literal are accepted.
 */
export function judgeHost(rawHost: string, policy: AddressPolicy): AddressRefusal | undefined {
  const host = rawHost.replace(/^\[(.*)\]$/, '$1');
  const literal = parseHostLiteral(host);
  if (literal !== undefined) return checkAddress(literal.address, policy);
  if (isIP(host) !== 0) {
    return { target: host, kind: 'unrecognised', rule: 'unparsed literal', reason: `${host} is an address this client cannot judge` };
  }
  return checkHostName(host, policy);
}
