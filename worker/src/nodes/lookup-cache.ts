/**
 * A small TTL cache for per-workspace lookups that every LLM node needs (credentials,
 * prices): one database read per key per TTL instead of one per node run.
 */
export class LookupCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number; pending?: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) return entry.pending ?? entry.value;
    const pending = load();
    this.entries.set(key, { value: undefined as T, expiresAt: this.now() + this.ttlMs, pending });
    try {
      const value = await pending;
      this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
      return value;
    } catch (err) {
      this.entries.delete(key);
      throw err;
    }
  }

  invalidate(key: string): void {
    this.entries.delete(key);
  }
}
