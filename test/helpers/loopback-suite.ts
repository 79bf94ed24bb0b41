/**
 * Per-test local servers and a connection tripwire for the safe-fetch test files: registers its
 * hooks in the calling file or describe block.
 */
import { afterEach, beforeEach } from 'vitest';
import { safeFetch, type SafeFetchRequest } from '../../worker/src/http-client/safe-fetch.js';
import { installConnectionTripwire, startLocalServer, type ConnectionTripwire, type Handler, type LocalServer } from './loopback-harness.js';

export interface LoopbackSuite {
  /** Starts a local server, closed after the test. */
  serve: (handler: Handler) => Promise<LocalServer>;
  /** A GET with loopback allowed and a 5 s timeout, unless `request` says otherwise. */
  send: (request: Partial<SafeFetchRequest> & { url: string }) => ReturnType<typeof safeFetch>;
  /** The current test's tripwire (connection attempts seen). */
  readonly tripwire: ConnectionTripwire;
}

export function loopbackSuite(): LoopbackSuite {
  let servers: LocalServer[] = [];
  let tripwire: ConnectionTripwire | undefined;
  beforeEach(() => {
    tripwire = installConnectionTripwire();
  });
  afterEach(async () => {
    tripwire?.restore();
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  return {
    serve: async (handler) => {
      const server = await startLocalServer(handler);
      servers.push(server);
      return server;
    },
    send: (request) => safeFetch({ method: 'GET', timeoutMs: 5_000, allowPrivateNetworks: true, ...request }),
    get tripwire() {
      if (!tripwire) throw new Error('the tripwire is installed per test');
      return tripwire;
    },
  };
}
