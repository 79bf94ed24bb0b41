/**
 * Test support for the HTTP client: a local server that counts what reaches it, a stub
 * resolver, and a tripwire that keeps any socket from leaving the loopback interface even if
 * the client under test is broken. Plain node, no test framework, so it type-checks and lints
 * like the code it tests.
 */
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import net, { type LookupFunction } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface LocalServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: ReceivedRequest[];
  /** TCP connections accepted; 0 proves nothing connected. */
  readonly connections: () => number;
  /** Server-side sockets closed so far (a timed-out client must close its socket). */
  readonly closedSockets: () => number;
  readonly close: () => Promise<void>;
}

export type Handler = (request: ReceivedRequest, response: ServerResponse) => void;

export async function startLocalServer(handler: Handler): Promise<LocalServer> {
  const requests: ReceivedRequest[] = [];
  let connections = 0;
  let closedSockets = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      handler(received, res);
    });
  });
  server.on('connection', (socket) => {
    connections += 1;
    socket.on('close', () => {
      closedSockets += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    origin: `http://127.0.0.1:${address.port}`,
    requests,
    connections: () => connections,
    closedSockets: () => closedSockets,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export type StubLookup = LookupFunction & { readonly calls: string[] };

/**
 * A resolver answering from `table` (name → addresses, or a list of answers used call after
 * call); unknown names fail with ENOTFOUND.
 */
export function stubLookup(table: Readonly<Record<string, readonly string[] | readonly (readonly string[])[]>>): StubLookup {
  const calls: string[] = [];
  const fn: LookupFunction = (hostname, options, callback) => {
    const callIndex = calls.filter((c) => c === hostname).length;
    calls.push(hostname);
    const entry = table[hostname];
    const answers = entry === undefined ? undefined : Array.isArray(entry[0]) ? (entry as readonly (readonly string[])[]) : [entry as readonly string[]];
    const answer = answers?.[Math.min(callIndex, answers.length - 1)];
    setImmediate(() => {
      if (answer === undefined || answer.length === 0) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = 'ENOTFOUND';
        callback(err, '');
        return;
      }
      const list: LookupAddress[] = answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      const first = list[0];
      if (options.all === true || first === undefined) callback(null, list);
      else callback(null, first.address, first.family);
    });
  };
  return Object.assign(fn, { calls });
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

export interface ConnectionTripwire {
  /** Host of every socket connect() call: a literal refused before connecting never shows up. */
  readonly attempts: string[];
  /** Addresses a resolver handed to a socket (what it would have connected to). */
  readonly handedToSocket: string[];
  /** Destinations the tripwire stopped because they were not loopback. */
  readonly tripped: string[];
  readonly restore: () => void;
}

interface ConnectOptionsLike {
  host?: string;
  lookup?: LookupFunction;
}

/**
 * Patches `net.Socket.prototype.connect` (which TLS sockets inherit) so that nothing leaves
 * loopback during tests, whatever the code under test does: a non-loopback literal throws, and
 * a resolver's non-loopback answer is replaced by an error before the socket sees it.
 */
export function installConnectionTripwire(): ConnectionTripwire {
  const attempts: string[] = [];
  const handedToSocket: string[] = [];
  const tripped: string[] = [];
  const proto = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => unknown };
  const original = proto.connect;
  proto.connect = function patchedConnect(this: net.Socket, ...args: unknown[]): unknown {
    const first = args[0];
    const options = (Array.isArray(first) ? first[0] : first) as ConnectOptionsLike | undefined;
    if (options !== undefined && typeof options === 'object') {
      const host = options.host ?? 'localhost';
      attempts.push(host);
      if (net.isIP(host) !== 0 && !isLoopback(host)) {
        tripped.push(host);
        throw new Error(`tripwire: connect to ${host}`);
      }
      if (net.isIP(host) === 0) {
        const inner = options.lookup;
        if (inner === undefined) {
          if (host === 'localhost') return original.apply(this, args);
          tripped.push(host);
          throw new Error(`tripwire: ${host} would be resolved by the system resolver`);
        }
        options.lookup = (hostname, lookupOptions, callback) => {
          inner(hostname, lookupOptions, (err, address, family) => {
            if (err) {
              callback(err, address, family);
              return;
            }
            const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
            handedToSocket.push(...list);
            const outside = list.filter((a) => !isLoopback(a));
            if (outside.length > 0) {
              tripped.push(...outside);
              callback(new Error(`tripwire: ${hostname} resolved to ${outside.join(', ')}`), address, family);
              return;
            }
            callback(null, address, family);
          });
        };
      }
    }
    return original.apply(this, args);
  };
  return {
    attempts,
    handedToSocket,
    tripped,
    restore: () => {
      proto.connect = original;
    },
  };
}
