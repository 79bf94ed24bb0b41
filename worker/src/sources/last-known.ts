/**
 * Always loads, but remembers the last value per key: when the database cannot answer, the
 * last known value stands in (up to `maxStaleMs`), so a Postgres outage does not stall work
 * that already ran once on this worker.
 */
export class LastKnown<T> {
  private readonly entries = new Map<string, { value: T; loadedAt: number }>();

  constructor(private readonly options: { maxStaleMs: number; now?: () => number }) {}

  async load(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.options.now ?? Date.now;
    try {
      const value = await load();
      this.entries.set(key, { value, loadedAt: now() });
      return value;
    } catch (err) {
      const entry = this.entries.get(key);
      if (entry && now() - entry.loadedAt < this.options.maxStaleMs) return entry.value;
      throw err;
    }
  }
}
