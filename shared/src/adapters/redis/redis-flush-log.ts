import { duplicateRedis, type RedisClient } from './connection.js';
import type { FlushEntry, FlushLog, FlushRecord } from '../../ports/flush-log.js';
import { allShards, FLUSH_GROUP, flushStreamKey, shardOf } from './keys.js';
import { asArray, asString, asStrings, execResults, streamReplies } from './redis-replies.js';

export interface RedisFlushLogOptions {
  /** Connection appends use; the caller owns (and closes) it. */
  redis: RedisClient;
  /**
   * Connection the reader's commands use (claims, non-blocking reads, acks); default `redis`.
   * The worker gives its flusher a connection of its own here. The caller owns it.
   */
  readRedis?: RedisClient;
  prefix: string;
  /**
   * Streams (WEFT_QUEUE_SHARDS): an entry goes to the stream of its execution's shard
   * (`flushStreamKey(prefix, shardOf(executionId))`). Default 1: the one stream `<prefix>:flush`.
   */
  shards?: number;
  /** Entries delivered longer ago than this and not acknowledged are claimed by read(). */
  claimIdleMs?: number;
  /**
   * Opens the connection blocking reads use; default `duplicateRedis(readRedis)`. The log closes
   * it. With shards, each stream opens one of its own.
   */
  blockingFactory?: () => RedisClient;
}

const DEFAULT_CLAIM_IDLE_MS = 30_000;

/**
 * The flush log as one Redis stream per shard, each with one consumer group, `flushers`. With one
 * shard it is that stream; with more, appends go to their execution's stream, `partitions()`
 * are the streams (a flusher loop per stream), and read() takes from them all, its record ids
 * `<shard>/<stream id>`.
 */
export class RedisFlushLog implements FlushLog {
  private readonly streams: RedisFlushStream[];
  private readonly shards: number;
  /** Entries a blocking read of a stream delivered after its read() had answered: the next read's. */
  private readonly delivered: FlushRecord[] = [];
  private readonly inFlight = new Map<number, Promise<void>>();
  private failure: unknown = null;

  constructor(options: RedisFlushLogOptions) {
    this.shards = options.shards ?? 1;
    if (!Number.isInteger(this.shards) || this.shards < 1) throw new RangeError(`shards must be a positive integer, got ${this.shards}`);
    this.streams = allShards(this.shards).map((shard) => new RedisFlushStream({ ...options, key: flushStreamKey(options.prefix, shard, this.shards) }));
  }

  partitions(): readonly FlushLog[] {
    return this.streams;
  }

  async append(entries: readonly FlushEntry[]): Promise<void> {
    if (this.shards === 1) return this.only().append(entries);
    const byShard = new Map<number, FlushEntry[]>();
    for (const entry of entries) {
      const shard = shardOf(entry.executionId, this.shards);
      byShard.set(shard, [...(byShard.get(shard) ?? []), entry]);
    }
    // One transaction per stream: an execution's entries are logged whole or not at all.
    await Promise.all([...byShard].map(([shard, list]) => this.stream(shard).append(list)));
  }

  async read(consumer: string, count: number, blockMs: number): Promise<FlushRecord[]> {
    if (this.shards === 1) return this.only().read(consumer, count, blockMs);
    if (count <= 0) return [];
    this.throwFailure();
    if (this.delivered.length === 0) {
      // Without waiting first, from the streams no blocking read is waiting on.
      const idle = this.streams.map((stream, shard) => ({ stream, shard })).filter(({ shard }) => !this.inFlight.has(shard));
      const found = await Promise.all(idle.map(({ stream, shard }) => stream.read(consumer, count, 0).then((records) => tagged(shard, records))));
      this.delivered.push(...found.flat());
    }
    if (this.delivered.length === 0 && blockMs > 0) {
      // A blocking read on every stream (each on its own connection); the first that answers
      // ends the wait, the others' entries wait here for the next read.
      for (const [shard, stream] of this.streams.entries()) {
        if (this.inFlight.has(shard)) continue;
        const reading = stream.read(consumer, count, blockMs)
          .then((records) => { this.delivered.push(...tagged(shard, records)); })
          .catch((err: unknown) => { this.failure ??= err; })
          .finally(() => { this.inFlight.delete(shard); });
        this.inFlight.set(shard, reading);
      }
      await new Promise<void>((resolve) => {
        const readings = [...this.inFlight.values()];
        let left = readings.length;
        for (const reading of readings) {
          void reading.then(() => {
            left -= 1;
            if (this.delivered.length > 0 || this.failure !== null || left === 0) resolve();
          });
        }
      });
      this.throwFailure();
    }
    return this.delivered.splice(0, count);
  }

  async ack(ids: readonly string[]): Promise<void> {
    if (this.shards === 1) return this.only().ack(ids);
    await Promise.all([...byShardOf(ids)].map(([shard, list]) => this.stream(shard).ack(list)));
  }

  async ackAndRead(ids: readonly string[], consumer: string, count: number, blockMs: number): Promise<FlushRecord[]> {
    if (this.shards === 1) return this.only().ackAndRead(ids, consumer, count, blockMs);
    await this.ack(ids);
    return this.read(consumer, count, blockMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.streams.map((stream) => stream.close()));
  }

  private throwFailure(): void {
    const failure = this.failure;
    this.failure = null;
    if (failure !== null) throw failure instanceof Error ? failure : new Error('reading a flush stream failed', { cause: failure });
  }

  private only(): RedisFlushStream {
    return this.stream(0);
  }

  private stream(shard: number): RedisFlushStream {
    const stream = this.streams[shard];
    if (!stream) throw new Error(`no flush stream for shard ${shard}`);
    return stream;
  }
}

function tagged(shard: number, records: readonly FlushRecord[]): FlushRecord[] {
  return records.map((r) => ({ id: `${shard}/${r.id}`, entry: r.entry }));
}

/** Record ids of a sharded read, `<shard>/<stream id>`, by shard. */
function byShardOf(ids: readonly string[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const id of ids) {
    const slash = id.indexOf('/');
    const shard = Number(id.slice(0, slash));
    if (slash < 0 || !Number.isInteger(shard)) throw new RangeError(`not a sharded flush record id: ${id}`);
    out.set(shard, [...(out.get(shard) ?? []), id.slice(slash + 1)]);
  }
  return out;
}

export interface RedisFlushStreamOptions extends Omit<RedisFlushLogOptions, 'prefix' | 'shards'> {
  /** The stream's key (`flushStreamKey`). */
  key: string;
}

/** One flush stream with one consumer group, `flushers`: a partition of RedisFlushLog. */
export class RedisFlushStream implements FlushLog {
  private readonly redis: RedisClient;
  private readonly readRedis: RedisClient;
  private readonly key: string;
  private readonly claimIdleMs: number;
  private readonly blockingFactory: () => RedisClient;
  private blocking: RedisClient | null = null;
  private groupReady = false;
  /** When this log last looked for stale entries of dead consumers. */
  private lastClaimAt = 0;

  constructor(options: RedisFlushStreamOptions) {
    this.redis = options.redis;
    const readRedis = options.readRedis ?? options.redis;
    this.readRedis = readRedis;
    this.key = options.key;
    this.claimIdleMs = options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
    this.blockingFactory = options.blockingFactory ?? (() => duplicateRedis(readRedis));
  }

  async append(entries: readonly FlushEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // One transaction: a batch is logged whole or not at all.
    const tx = this.redis.multi();
    for (const entry of entries) tx.xadd(this.key, '*', 'f', JSON.stringify(entry));
    execResults(await tx.exec());
  }

  /** `blockMs` ≤ 0 does not block (Redis would read BLOCK 0 as "forever"). */
  async read(consumer: string, count: number, blockMs: number): Promise<FlushRecord[]> {
    if (count <= 0) return [];
    try {
      return await this.readOnce(consumer, count, blockMs);
    } catch (err) {
      // The stream (and its group) can vanish, e.g. deleted by an operator; recreate and retry once.
      if (!(err instanceof Error) || !err.message.startsWith('NOGROUP')) throw err;
      this.groupReady = false;
      return this.readOnce(consumer, count, blockMs);
    }
  }

  async ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    // XDEL too: acknowledged entries are done with, and the flush stream must not grow forever.
    execResults(await this.readRedis.multi().xack(this.key, FLUSH_GROUP, ...ids).xdel(this.key, ...ids).exec());
  }

  async ackAndRead(ids: readonly string[], consumer: string, count: number, blockMs: number): Promise<FlushRecord[]> {
    // A claim that is due, or nothing to acknowledge: the two steps as they are.
    if (ids.length === 0 || count <= 0 || !this.groupReady || Date.now() - this.lastClaimAt >= this.claimIdleMs / 2) {
      await this.ack(ids);
      return this.read(consumer, count, blockMs);
    }
    // One transaction: acknowledge, delete, and read what is waiting without blocking.
    const replies = await this.readRedis.multi()
      .xack(this.key, FLUSH_GROUP, ...ids)
      .xdel(this.key, ...ids)
      .call('XREADGROUP', 'GROUP', FLUSH_GROUP, consumer, 'COUNT', count, 'STREAMS', this.key, '>')
      .exec();
    let waiting: unknown;
    try {
      waiting = execResults(replies)[2];
    } catch (err) {
      // The stream (and its group) can vanish: read() recreates it.
      if (!(err instanceof Error) || !err.message.startsWith('NOGROUP')) throw err;
      this.groupReady = false;
      return this.read(consumer, count, blockMs);
    }
    const records: FlushRecord[] = [];
    for (const entries of streamReplies(waiting)) records.push(...(await this.toRecords(entries)));
    return records.length > 0 ? records : this.read(consumer, count, blockMs);
  }

  close(): Promise<void> {
    const blocking = this.blocking;
    this.blocking = null;
    // disconnect, not quit: QUIT would wait behind an in-flight blocking read. An entry that read
    // was delivering stays pending and is claimed again after the idle time.
    blocking?.disconnect();
    return Promise.resolve();
  }

  private async readOnce(consumer: string, count: number, blockMs: number): Promise<FlushRecord[]> {
    await this.ensureGroup();
    // Stale entries exist only once a consumer has been silent for claimIdleMs: claiming every
    // half of that finds them in time without a round trip on every read. While a claim finds
    // entries, the next read claims again to drain them.
    let records: FlushRecord[] = [];
    const now = Date.now();
    if (now - this.lastClaimAt >= this.claimIdleMs / 2) {
      records = await this.claimStale(consumer, count);
      this.lastClaimAt = records.length > 0 ? 0 : now;
    }
    if (records.length >= count) return records;
    const block = records.length === 0 && blockMs > 0;
    // A blocking read holds its connection: never a shared one, where it would stall commands.
    const connection = block ? this.blockingConnection() : this.readRedis;
    const reply = await connection.call('XREADGROUP', 'GROUP', FLUSH_GROUP, consumer, 'COUNT', count - records.length,
      ...(block ? ['BLOCK', blockMs] : []), 'STREAMS', this.key, '>');
    for (const entries of streamReplies(reply)) records.push(...(await this.toRecords(entries)));
    return records;
  }

  /** XAUTOCLAIM walks the pending list in pages; follow the cursor until enough or the end. */
  private async claimStale(consumer: string, count: number): Promise<FlushRecord[]> {
    const records: FlushRecord[] = [];
    let cursor = '0-0';
    do {
      const reply = asArray(await this.readRedis.call('XAUTOCLAIM', this.key, FLUSH_GROUP, consumer,
        this.claimIdleMs, cursor, 'COUNT', count - records.length));
      cursor = asString(reply[0]);
      records.push(...(await this.toRecords(reply[1])));
    } while (cursor !== '0-0' && records.length < count);
    return records;
  }

  private async toRecords(entries: unknown): Promise<FlushRecord[]> {
    const records: FlushRecord[] = [];
    const poison: string[] = [];
    for (const raw of asArray(entries)) {
      const [id, fields] = asArray(raw);
      const idString = asString(id);
      const entry = fields === null ? null : parseFlushEntry(asStrings(fields));
      if (entry) records.push({ id: idString, entry });
      else poison.push(idString);
    }
    // An entry that is not a FlushEntry can never be flushed; redelivering it forever would only
    // stall its consumer.
    await this.ack(poison);
    return records;
  }

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      // From id 0: entries appended before any reader existed are read too.
      await this.readRedis.xgroup('CREATE', this.key, FLUSH_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('BUSYGROUP')) throw err;
    }
    this.groupReady = true;
  }

  private blockingConnection(): RedisClient {
    this.blocking ??= this.blockingFactory();
    return this.blocking;
  }
}

function parseFlushEntry(fields: readonly string[]): FlushEntry | null {
  const json = fields[0] === 'f' ? fields[1] : undefined;
  if (json === undefined) return null;
  try {
    const value = JSON.parse(json) as Partial<FlushEntry> | null;
    if (value && typeof value.executionId === 'string' && (value.kind === 'node' || value.kind === 'execution' || value.kind === 'status')) {
      return value as FlushEntry;
    }
  } catch {
    // Not JSON: treated as poison by the caller.
  }
  return null;
}
