/**
 * A small cache for per-workspace lookups that every LLM node needs (credentials, prices).
 * When the database cannot answer, the last known value is used (up to `maxStaleMs`), so a
 * Postgres outage delays nothing that already ran once on this worker.
 */
export class LookupCache<T> {
  private readonly entries = new Map<string, { value: T; loadedAt: number }>();

  constructor(
    private readonly options: { ttlMs: number; maxStaleMs: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Cached for `ttlMs`; reloaded after, falling back to the stale value if the load fails. */
  async get(key: string, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.loadedAt < this.options.ttlMs) return entry.value;
    return this.fresh(key, load);
  }

  /** Always loads; falls back to the last known value if the load fails. */
  async fresh(key: string, load: () => Promise<T>): Promise<T> {
    try {
      const value = await load();
      this.entries.set(key, { value, loadedAt: this.now() });
      return value;
    } catch (err) {
      const entry = this.entries.get(key);
      if (entry && this.now() - entry.loadedAt < this.options.maxStaleMs) return entry.value;
      throw err;
    }
  }
}
