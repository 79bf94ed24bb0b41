/**
 * Remembers the last value loaded per key: when the database cannot answer, the last known value
 * stands in (up to `maxStaleMs`), so a Postgres outage does not stall work that already ran once
 * on this worker.
 *
 * With `freshMs`, a value younger than that is answered without a load (a cache): concurrent
 * misses of one key share one load, `forget` drops a key at once (a change announced over the
 * control bus), and a load that began before a `forget` is answered to its callers but not
 * trusted as fresh, so an old value cannot come back by a race. Without it, every ask loads.
 * Keys are bounded (`max`, least recently used dropped first).
 */
import { LRUCache } from 'lru-cache';

interface Entry<T> {
  value: T;
  loadedAt: number;
  /** Answered without a load until then (0: never). */
  freshUntil: number;
}

export interface LastKnownOptions {
  maxStaleMs: number;
  /** How long a loaded value is answered without a load; 0 or absent: every ask loads. */
  freshMs?: number;
  /** Keys remembered at most. */
  max?: number;
  now?: () => number;
}

export class LastKnown<T> {
  private readonly entries: LRUCache<string, Entry<T>>;
  private readonly loading = new Map<string, Promise<T>>();
  /** Bumped by every `forget`: a load begun before one is not trusted as fresh. */
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: LastKnownOptions) {
    this.now = options.now ?? Date.now;
    this.entries = new LRUCache<string, Entry<T>>({ max: options.max ?? 100_000 });
  }

  load(key: string, load: () => Promise<T>): Promise<T> {
    const freshMs = this.options.freshMs ?? 0;
    if (freshMs <= 0) return this.read(key, load);
    const entry = this.entries.get(key);
    if (entry !== undefined && this.now() < entry.freshUntil) return Promise.resolve(entry.value);
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending;
    const tracked = this.read(key, load).finally(() => {
      if (this.loading.get(key) === tracked) this.loading.delete(key);
    });
    this.loading.set(key, tracked);
    return tracked;
  }

  /** The keys `matches` names are loaded again on their next ask (their last value still stands in during an outage). */
  forget(matches: (key: string) => boolean): number {
    this.generation += 1;
    for (const key of [...this.loading.keys()]) if (matches(key)) this.loading.delete(key);
    let forgotten = 0;
    for (const [key, entry] of this.entries.entries()) {
      if (!matches(key) || entry.freshUntil === 0) continue;
      entry.freshUntil = 0;
      forgotten += 1;
    }
    return forgotten;
  }

  private async read(key: string, load: () => Promise<T>): Promise<T> {
    const generation = this.generation;
    try {
      const value = await load();
      const loadedAt = this.now();
      const fresh = generation === this.generation && (this.options.freshMs ?? 0) > 0;
      this.entries.set(key, { value, loadedAt, freshUntil: fresh ? loadedAt + (this.options.freshMs ?? 0) : 0 });
      return value;
    } catch (err) {
      const entry = this.entries.get(key);
      if (entry && this.now() - entry.loadedAt < this.options.maxStaleMs) return entry.value;
      throw err;
    }
  }
}
