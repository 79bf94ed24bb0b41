/**
 * The model price table, held in memory per worker: loaded whole (it is small), refreshed
 * after `ttlMs`, and kept as it was while Postgres is down, so pricing never stalls a node.
 * A price edit reaches every worker within `ttlMs`; a model missing from the table triggers a
 * reload (at most once per `missReloadMs` for that model), so a newly priced model is priced at
 * once on every worker that meets it.
 */
import type { ModelPrice, ModelPricingRepo } from '@weft/db/repos';

export class PriceBook {
  private snapshot: Map<string, ModelPrice> | null = null;
  private loadedAt = 0;
  private pending: Promise<void> | null = null;
  /** When each unpriced model last missed: bounds reloads per model, not per worker. */
  private readonly missedAt = new Map<string, number>();

  constructor(
    private readonly repo: Pick<ModelPricingRepo, 'list'>,
    private readonly options: { ttlMs: number; missReloadMs?: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Null when the model has no price. Throws only if the table could never be loaded. */
  async lookup(provider: string, model: string): Promise<ModelPrice | null> {
    const key = `${provider}/${model}`;
    const now = this.now();
    const stale = !this.snapshot || now - this.loadedAt >= this.options.ttlMs;
    const missedRecently = (this.missedAt.get(key) ?? -Infinity) > now - (this.options.missReloadMs ?? 1000);
    const missed = this.snapshot !== null && !this.snapshot.has(key) && !missedRecently;
    if (stale || missed) {
      try {
        await (this.pending ??= this.load().finally(() => { this.pending = null; }));
      } catch (err) {
        if (!this.snapshot) throw err;
      }
    }
    const price = this.snapshot?.get(key) ?? null;
    if (price) this.missedAt.delete(key);
    else this.missedAt.set(key, now);
    return price;
  }

  private async load(): Promise<void> {
    const prices = await this.repo.list();
    this.snapshot = new Map(prices.map((p) => [`${p.provider}/${p.model}`, p]));
    this.loadedAt = this.now();
  }
}
