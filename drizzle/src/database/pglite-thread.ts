/**
 * The main thread's side of embedded mode's PGlite thread (pglite-host.ts): starts the worker,
 * and gives node-postgres a stream per connection that carries the wire protocol over the
 * worker's message channel instead of a socket. The process then talks to PGlite as distributed mode talks
 * to Postgres (the same driver, tenant scope and migrator), and PGlite's WASM runs on its own
 * thread, never on the event loop that serves the api and runs the nodes.
 */
import { Duplex } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { HostReply, HostRequest, PgliteHostData } from './pglite-host.js';

export interface PgliteThreadLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PgliteThread {
  /** The worker's thread id: queries run there, never on the caller's thread. */
  threadId: number;
  /** A new connection: node-postgres' `stream` option. */
  connect(): Duplex;
  /** Ends the connections' thread after PGlite closed (its data flushed to the folder). */
  close(): Promise<void>;
}

/** The host next to this module: `.ts` from source (tsx, vitest), `.js` once compiled. */
function hostUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './pglite-host.ts' : './pglite-host.js', import.meta.url);
}

/** Starts PGlite in `dataDir` on a worker thread; resolves once it is open. */
export async function startPgliteThread(dataDir: string, logger?: PgliteThreadLogger): Promise<PgliteThread> {
  const worker = new Worker(hostUrl(), { workerData: { dataDir } satisfies PgliteHostData });
  const streams = new Map<number, ThreadStream>();
  let nextId = 1;
  let failure: Error | null = null;
  let closed = false;
  let opened: (() => void) | null = null;
  let closedByHost: (() => void) | null = null;

  // The thread gone (a crash of PGlite, or close()): every open connection fails instead of hanging.
  const onGone = (err: Error): void => {
    failure ??= err;
    for (const stream of streams.values()) stream.destroy(err);
    streams.clear();
  };
  worker.on('error', (err: Error) => {
    logger?.error({ err }, 'pglite thread failed');
    onGone(err);
  });
  worker.on('exit', (code) => {
    if (!closed) logger?.error({ code }, 'pglite thread exited');
    onGone(new Error(`the PGlite thread exited (code ${code})`));
    closedByHost?.();
  });
  worker.on('message', (reply: HostReply) => {
    switch (reply.type) {
      case 'data':
        streams.get(reply.id)?.push(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength));
        break;
      case 'error':
        logger?.error({ connection: reply.id, err: reply.message }, 'pglite failed a connection\'s statements');
        streams.get(reply.id)?.destroy(new Error(`PGlite failed: ${reply.message}`));
        break;
      case 'ready':
        opened?.();
        break;
      case 'failed':
        failure = new Error(`PGlite did not open in ${dataDir}: ${reply.message}`);
        break;
      case 'closed':
        closedByHost?.();
        break;
    }
  });

  await new Promise<void>((resolve, reject) => {
    opened = resolve;
    worker.once('exit', () => { reject(failure ?? new Error('the PGlite thread exited before PGlite opened')); });
  });

  const send = (request: HostRequest): void => {
    worker.postMessage(request, request.type === 'data' ? [request.bytes.buffer as ArrayBuffer] : []);
  };

  return {
    threadId: worker.threadId,
    connect() {
      const id = nextId++;
      const stream = new ThreadStream(id, send, () => { streams.delete(id); });
      if (failure) process.nextTick(() => stream.destroy(failure ?? undefined));
      else streams.set(id, stream);
      return stream;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (failure) return;
      const done = new Promise<void>((resolve) => { closedByHost = resolve; });
      send({ type: 'close' });
      await done;
      await worker.terminate();
    },
  };
}

/**
 * A socket as node-postgres uses one (connect, setNoDelay, setKeepAlive, ref/unref, 'connect',
 * 'close') over the thread's channel. The messages node-postgres writes for one query in one go
 * (Parse, Bind, Describe, Execute, Sync) leave as one message, in bytes of their own (moved, not
 * copied, to the thread).
 */
class ThreadStream extends Duplex {
  readonly #id: number;
  readonly #send: (request: HostRequest) => void;
  #outgoing: Buffer[] = [];

  constructor(id: number, send: (request: HostRequest) => void, onClose: () => void) {
    super();
    this.#id = id;
    this.#send = send;
    this.once('close', onClose);
  }

  connect(): this {
    process.nextTick(() => this.emit('connect'));
    return this;
  }

  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }

  override _read(): void {
    // Replies are pushed as they arrive.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#outgoing.length === 0) queueMicrotask(() => { this.#flush(); });
    this.#outgoing.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush();
    this.#send({ type: 'end', id: this.#id });
    this.push(null);
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.writableFinished) this.#send({ type: 'end', id: this.#id });
    callback(err);
  }

  #flush(): void {
    if (this.#outgoing.length === 0 || this.destroyed) return;
    const bytes = new Uint8Array(this.#outgoing.reduce((sum, chunk) => sum + chunk.length, 0));
    let at = 0;
    for (const chunk of this.#outgoing) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    this.#outgoing = [];
    this.#send({ type: 'data', id: this.#id, bytes });
  }
}
