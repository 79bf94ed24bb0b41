/**
 * A pass-through HTTP gate in front of a provider (the mock). Open, it forwards every request and
 * pipes the answer back. Held, a request that arrives waits at the gate, unforwarded, until the
 * gate opens again, or until its client goes away, which the gate records as a cut. A test can so
 * know that a call is on the wire and cannot finish before the test has acted.
 */
import { createServer, request as forwardRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatedRequest {
  /** 1, 2, 3… in arrival order. */
  id: number;
  path: string;
  /** Waiting at the held gate. */
  held: boolean;
  /** The client went away before its answer was complete. */
  cut: boolean;
  /** The exchange with the client is over (answered or cut). */
  done: boolean;
}

export interface Gate {
  /** Base URL without a path, like MockLlm's. */
  readonly url: string;
  /** Every request received, live. */
  readonly requests: readonly GatedRequest[];
  /** Requests waiting at the held gate now, their clients still connected. */
  waiting(): number;
  /** Holds every request that arrives from now on, or only those whose body `matches`. */
  hold(matches?: (body: string) => boolean): void;
  /** Forwards what waits, and everything after. */
  open(): void;
  /** Forgets the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export async function startGate(upstreamUrl: string): Promise<Gate> {
  const upstream = new URL(upstreamUrl);
  const requests: GatedRequest[] = [];
  let holding: ((body: string) => boolean) | null = null;
  let queued: Array<() => void> = [];

  const server = createServer((req, res) => {
    const record: GatedRequest = { id: requests.length + 1, path: req.url ?? '/', held: false, cut: false, done: false };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.cut = true;
      record.held = false;
      record.done = true;
    });
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => {
      const forward = (): void => {
        record.held = false;
        if (record.done) return;
        const outbound = forwardRequest(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            // The provider cut its answer (mock-cut): cut the client's too, as a direct call sees it.
            answer.on('close', () => { if (!answer.complete) res.destroy(); });
          },
        );
        outbound.on('error', () => { res.destroy(); });
        // A client that goes away mid-call closes the provider's side too, as a direct call would.
        res.on('close', () => { outbound.destroy(); });
        outbound.end(Buffer.concat(body));
      };
      if (holding?.(Buffer.concat(body).toString('utf8'))) {
        record.held = true;
        queued.push(forward);
      } else {
        forward();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waiting: () => requests.filter((r) => r.held && !r.done).length,
    hold(matches = () => true) {
      holding = matches;
    },
    open() {
      holding = null;
      const release = queued;
      queued = [];
      for (const forward of release) forward();
    },
    reset() {
      requests.length = 0;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
      server.closeAllConnections();
      await closed;
    },
  };
}
