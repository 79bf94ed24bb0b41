import type { FlushEntry, FlushLog, FlushRecord } from '../../ports/flush-log.js';

export interface MemoryFlushLogOptions {
  /** Entries delivered longer ago than this and not acknowledged are claimed by read(). */
  claimIdleMs?: number;
}

interface PendingFlush {
  record: FlushRecord;
  consumer: string;
  deliveredAt: number;
}

const DEFAULT_CLAIM_IDLE_MS = 30_000;

/**
 * The flush log in memory, with the Redis stream's semantics: ids `<ms>-<seq>`, one consumer
 * group, stale deliveries claimed, acknowledged entries deleted. Entries cross through JSON, so
 * neither side aliases the other's objects.
 */
export class MemoryFlushLog implements FlushLog {
  private readonly claimIdleMs: number;
  private readonly queue: FlushRecord[] = [];
  private readonly pending = new Map<string, PendingFlush>();
  private readonly waiters = new Set<() => void>();
  private lastMs = 0;
  private lastSeq = -1;

  constructor(options: MemoryFlushLogOptions = {}) {
    this.claimIdleMs = options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
  }

  append(entries: readonly FlushEntry[]): Promise<void> {
    for (const entry of entries) this.queue.push({ id: this.nextId(), entry: jsonCopy(entry) });
    if (entries.length > 0) for (const wake of [...this.waiters]) wake();
    return Promise.resolve();
  }

  /** `blockMs` ≤ 0 does not block, as in the Redis adapter. */
  async read(consumer: string, count: number, blockMs: number): Promise<FlushRecord[]> {
    if (count <= 0) return [];
    const records = this.take(consumer, count);
    if (records.length > 0 || blockMs <= 0) return records;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, blockMs);
      this.waiters.add(wake);
    });
    return this.take(consumer, count);
  }

  ack(ids: readonly string[]): Promise<void> {
    const acked = new Set(ids);
    for (const id of ids) this.pending.delete(id);
    // As XDEL: an acknowledged id is gone even if it was never delivered.
    const kept = this.queue.filter((record) => !acked.has(record.id));
    this.queue.splice(0, this.queue.length, ...kept);
    return Promise.resolve();
  }

  async ackAndRead(ids: readonly string[], consumer: string, count: number, blockMs: number): Promise<FlushRecord[]> {
    await this.ack(ids);
    return this.read(consumer, count, blockMs);
  }

  close(): Promise<void> {
    for (const wake of [...this.waiters]) wake();
    return Promise.resolve();
  }

  /** Stale deliveries first (a dead consumer's entries), then new entries, like XAUTOCLAIM + XREADGROUP. */
  private take(consumer: string, count: number): FlushRecord[] {
    const now = Date.now();
    const records: FlushRecord[] = [];
    for (const pending of this.pending.values()) {
      if (records.length >= count) break;
      if (now - pending.deliveredAt < this.claimIdleMs) continue;
      pending.consumer = consumer;
      pending.deliveredAt = now;
      records.push(pending.record);
    }
    while (records.length < count) {
      const record = this.queue.shift();
      if (!record) break;
      this.pending.set(record.id, { record, consumer, deliveredAt: now });
      records.push(record);
    }
    return records.map((r) => ({ id: r.id, entry: jsonCopy(r.entry) }));
  }

  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSeq = 0;
    } else {
      this.lastSeq += 1;
    }
    return `${this.lastMs}-${this.lastSeq}`;
  }
}

function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
