/**
 * The model price table, held in memory per worker: loaded whole (it is small), refreshed
 * after `ttlMs`, and kept as it was while Postgres is down, so pricing never stalls a node.
 * A price edit reaches every worker within `ttlMs`; a model missing from the table (itself and
 * its alias, see shared/src/engine/pricing.ts) triggers a reload (at most once per
 * `missReloadMs` for that model), so a newly priced model is priced at once on every worker
 * that meets it.
 */
import type { ModelPrice, ModelPricingRepo } from '@weft/db/repos';
import { priceAliasOf, quotePrice, type PriceQuote } from '@weft/shared/engine';

/**
 * Model names whose last miss is remembered. Flows choose the names, so the memory is capped:
 * past it the oldest entry goes (that name may then reload the table once more).
 */
export const MAX_REMEMBERED_MISSES = 10_000;

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
    const quote = await this.quote(provider, model);
    return quote.pricing === 'priced' ? quote.prices : null;
  }

  /**
   * The model's price by the alias rule (its own row, else its alias's row), else `unpriced`
   * (the workspace's fallback is the caller's). Throws only if the table could never be loaded.
   */
  async quote(provider: string, model: string): Promise<PriceQuote<ModelPrice>> {
    const key = `${provider}/${model}`;
    const alias = priceAliasOf(model);
    const has = (snapshot: Map<string, ModelPrice>): boolean => snapshot.has(key) || (alias !== null && snapshot.has(`${provider}/${alias}`));
    const now = this.now();
    const stale = !this.snapshot || now - this.loadedAt >= this.options.ttlMs;
    const missedRecently = (this.missedAt.get(key) ?? -Infinity) > now - (this.options.missReloadMs ?? 1000);
    const missed = this.snapshot !== null && !has(this.snapshot) && !missedRecently;
    if (stale || missed) {
      try {
        await (this.pending ??= this.load().finally(() => { this.pending = null; }));
      } catch (err) {
        if (!this.snapshot) throw err;
      }
    }
    const snapshot = this.snapshot;
    if (snapshot && has(snapshot)) this.missedAt.delete(key);
    else {
      this.missedAt.set(key, now);
      if (this.missedAt.size > MAX_REMEMBERED_MISSES) {
        const oldest = this.missedAt.keys().next();
        if (oldest.done !== true) this.missedAt.delete(oldest.value);
      }
    }
    return quotePrice({ model, find: (name) => snapshot?.get(`${provider}/${name}`), });
  }

  private async load(): Promise<void> {
    const prices = await this.repo.list();
    this.snapshot = new Map(prices.map((p) => [`${p.provider}/${p.model}`, p]));
    this.loadedAt = this.now();
  }
}
