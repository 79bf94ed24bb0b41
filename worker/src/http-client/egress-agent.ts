import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import type { AddressPolicy } from './address-policy.js';
import { createGuardedLookup } from './guarded-lookup.js';
import { HttpClientError } from './http-client-error.js';
import { judgeHost } from './judge-host.js';

export interface EgressAgentOptions {
  readonly policy: AddressPolicy;
  /** Resolver, `dns.lookup` by default; injected by tests. Its answers are always checked. */
  readonly lookup?: LookupFunction;
}

const defaultLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, options, callback);
};

/**
 * An undici dispatcher whose every new connection is judged by the address policy, for
 * clients that take a `fetch` (the provider SDKs). The check sits in the connector, so it
 * applies to the first request, to every redirect hop and to every reconnect alike: IP
 * literals are judged before connecting, names on every address they resolve to, with the
 * socket connecting to exactly the address that was judged (no DNS rebinding in between).
 * Pooled sockets were judged when they were opened. A refusal fails the connection with an
 * `HttpClientError` whose reason is `address_blocked`; undici hands it on as the `cause` of
 * fetch's TypeError.
 */
export function createEgressAgent(options: EgressAgentOptions): Agent {
  const { policy } = options;
  const lookup = createGuardedLookup({ lookup: options.lookup ?? defaultLookup, policy });
  const connectGuarded = buildConnector({ lookup });
  const connect: buildConnector.connector = (opts, callback) => {
    const refusal = judgeHost(opts.hostname, policy);
    if (refusal !== undefined) {
      const message = `refused ${opts.protocol}//${opts.hostname}${opts.port === '' ? '' : `:${opts.port}`}: ${refusal.reason}; the workspace does not allow this destination`;
      callback(new HttpClientError('address_blocked', message, { target: refusal.target }), null);
      return;
    }
    connectGuarded(opts, callback);
  };
  return new Agent({ connect });
}
