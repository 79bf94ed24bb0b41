/**
 * The PGlite thread of embedded mode (a `node:worker_threads` worker): it owns the one PGlite
 * instance, so Postgres' WASM never runs on the process' event loop, and serves the Postgres
 * wire protocol to the main thread's node-postgres clients, their
 * connections multiplexed on the worker's one channel, so statements reach PGlite in the order the
 * main thread sent them (pglite-thread.ts has the other end; docs/architecture.md, "Embedded
 * mode").
 *
 * PGlite is one backend: one session, one transaction at a time. Each connection's messages are
 * run whole up to their Sync (or simple Query), and a connection whose last ReadyForQuery says it
 * is inside a transaction keeps PGlite until it says idle again: the batches of the others wait,
 * so a transaction stays exclusive across the thread boundary. Named prepared statements get the
 * connection's prefix, as each connection would have them to itself on a server.
 *
 * Only packages are imported, and only erasable TypeScript is written: the file runs as it is
 * under tsx, under Node's type stripping (vitest) and as compiled JavaScript.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

export interface PgliteHostData {
  dataDir: string;
}

/** main → host: a connection's protocol bytes (the first opens it), its end, or the thread's end. */
export type HostRequest = { type: 'data'; id: number; bytes: Uint8Array } | { type: 'end'; id: number } | { type: 'close' };
/** host → main: PGlite open (or not), a connection's protocol bytes, why one is dropped, the thread's end. */
export type HostReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'data'; id: number; bytes: Uint8Array }
  | { type: 'error'; id: number; message: string }
  | { type: 'closed' };

const SSL_REQUEST = 80877103;
const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const FLUSH = 0x48; // 'H'
const TERMINATE = 0x58; // 'X'
const PARSE = 0x50; // 'P'
const BIND = 0x42; // 'B'
const DESCRIBE = 0x44; // 'D'
const CLOSE = 0x43; // 'C'
const STATEMENT = 0x53; // 'S', in Describe and Close
const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I'

interface Connection {
  id: number;
  pending: Buffer;
  started: boolean;
  /** Complete messages after the last Sync/Query/Flush. */
  messages: Buffer[];
  closed: boolean;
}

interface Batch {
  connection: Connection;
  bytes: Uint8Array;
  /** The rollback of a connection that went away inside a transaction. */
  abandon?: boolean;
}

const host = parentPort;
if (!host) throw new Error('pglite-host runs as a worker thread');
const { dataDir } = workerData as PgliteHostData;

let db: PGlite;
let startupReply: Uint8Array;
const queue: Batch[] = [];
/** The connection inside a transaction (or between a Flush and its Sync): only its batches run. */
let owner: Connection | null = null;
let running = false;
let closing = false;
const connections = new Map<number, Connection>();

try {
  db = await PGlite.create(dataDir);
  // Every connection gets the answer to one startup: PGlite has a single session to report on.
  startupReply = (await db.execProtocolRaw(startupMessage())).slice();
  host.postMessage({ type: 'ready' } satisfies HostReply);
} catch (err) {
  host.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies HostReply);
  process.exit(1);
}

host.on('message', (request: HostRequest) => {
  if (request.type === 'close') {
    void shutdown();
    return;
  }
  let connection = connections.get(request.id);
  if (request.type === 'end') {
    if (connection) end(connection);
    return;
  }
  if (!connection) {
    connection = { id: request.id, pending: Buffer.alloc(0), started: false, messages: [], closed: false };
    connections.set(request.id, connection);
  }
  receive(connection, Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength));
});

function reply(connection: Connection, bytes: Uint8Array, move: boolean): void {
  host?.postMessage({ type: 'data', id: connection.id, bytes } satisfies HostReply, move ? [bytes.buffer as ArrayBuffer] : []);
}

function receive(connection: Connection, chunk: Buffer): void {
  if (connection.closed) return;
  connection.pending = connection.pending.length === 0 ? chunk : Buffer.concat([connection.pending, chunk]);
  for (;;) {
    const buf = connection.pending;
    if (!connection.started) {
      if (buf.length < 8) return;
      const length = buf.readInt32BE(0);
      if (buf.length < length) return;
      connection.pending = buf.subarray(length);
      if (buf.readInt32BE(4) === SSL_REQUEST) {
        reply(connection, new Uint8Array([0x4e]), true); // 'N': no TLS between threads
      } else {
        connection.started = true;
        reply(connection, startupReply, false);
      }
      continue;
    }
    if (buf.length < 5) return;
    const length = 1 + buf.readInt32BE(1);
    if (buf.length < length) return;
    connection.pending = buf.subarray(length);
    const message = buf.subarray(0, length);
    const type = message[0];
    if (type === TERMINATE) {
      end(connection);
      return;
    }
    connection.messages.push(prefixStatementName(connection, message));
    if (type === SYNC || type === QUERY || type === FLUSH) {
      queue.push({ connection, bytes: standalone(connection.messages) });
      connection.messages = [];
      void drain();
    }
  }
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (;;) {
      const index = owner ? queue.findIndex((batch) => batch.connection === owner) : 0;
      if (index < 0 || queue.length === 0) return;
      const [batch] = queue.splice(index, 1);
      if (!batch) return;
      const { connection } = batch;
      if (connection.closed && !batch.abandon) continue;
      let output: Uint8Array;
      try {
        output = await db.execProtocolRaw(batch.bytes);
      } catch (err) {
        // PGlite itself failed (a statement's error comes back as ErrorResponse bytes instead).
        host?.postMessage({ type: 'error', id: connection.id, message: err instanceof Error ? err.message : String(err) } satisfies HostReply);
        end(connection);
        continue;
      }
      const status = lastStatus(output);
      if (connection.closed) {
        // Gone while its batch ran: whatever transaction that batch left open goes too.
        if (status !== IDLE) await db.execProtocolRaw(standalone([queryMessage('rollback')]));
        if (owner === connection) owner = null;
        continue;
      }
      owner = status === IDLE ? null : connection;
      // The output is a view of PGlite's buffer, which the next statement overwrites: a copy is moved.
      reply(connection, output.slice(), true);
    }
  } finally {
    running = false;
  }
}

/** A connection gone inside a transaction leaves none behind: rolled back, PGlite free again. */
function end(connection: Connection): void {
  if (connection.closed) return;
  connection.closed = true;
  connections.delete(connection.id);
  if (owner === connection) queue.unshift({ connection, bytes: standalone([queryMessage('rollback')]), abandon: true });
  void drain();
}

async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  while (running) await new Promise((resolve) => { setImmediate(resolve); });
  if (!db.closed) await db.close();
  host?.postMessage({ type: 'closed' } satisfies HostReply);
}

/** The status byte of the last ReadyForQuery in `reply`, or null (a Flush: the batch goes on). */
function lastStatus(reply: Uint8Array): number | null {
  let status: number | null = null;
  const view = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let at = 0; at + 5 <= view.length; at += 1 + view.readInt32BE(at + 1)) {
    if (view[at] === READY_FOR_QUERY) status = view[at + 5] ?? null;
  }
  return status;
}

/**
 * Parse, Bind, Describe and Close name a prepared statement per connection; PGlite has one
 * session for all of them, so a non-empty name gets this connection's prefix.
 */
function prefixStatementName(connection: Connection, message: Buffer): Buffer {
  const type = message[0];
  let at: number;
  if (type === PARSE) at = 5;
  else if (type === BIND) at = message.indexOf(0, 5) + 1; // after the portal's name
  else if ((type === DESCRIBE || type === CLOSE) && message[5] === STATEMENT) at = 6;
  else return message;
  if (message[at] === 0) return message; // the unnamed statement
  const prefix = Buffer.from(`weft${connection.id}_`);
  const renamed = Buffer.concat([message.subarray(0, at), prefix, message.subarray(at)]);
  renamed.writeInt32BE(renamed.length - 1, 1);
  return renamed;
}

/**
 * The messages in an ArrayBuffer of their own: execProtocolRaw reads its argument from the start
 * of its ArrayBuffer, whatever the view's offset (a Buffer from Node's pool would replay others).
 */
function standalone(messages: Buffer[]): Uint8Array {
  const bytes = new Uint8Array(messages.reduce((sum, message) => sum + message.length, 0));
  let at = 0;
  for (const message of messages) {
    bytes.set(message, at);
    at += message.length;
  }
  return bytes;
}

function startupMessage(): Uint8Array {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const message = Buffer.alloc(8 + params.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(196608, 4); // protocol 3.0
  params.copy(message, 8);
  return standalone([message]);
}

function queryMessage(text: string): Buffer {
  const body = Buffer.from(`${text}\0`);
  const message = Buffer.alloc(5 + body.length);
  message[0] = QUERY;
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}
