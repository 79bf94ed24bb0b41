import { and, eq } from 'drizzle-orm';
import { modelPricing } from '../schema/index.js';
import type { WeftDb } from './db.js';
import { codePointOrder } from './order.js';
import type { ModelPrice, ModelPricingRepo } from './types.js';

const priceColumns = {
  provider: modelPricing.provider,
  model: modelPricing.model,
  inputPer1M: modelPricing.inputPer1M,
  outputPer1M: modelPricing.outputPer1M,
  reasoningPer1M: modelPricing.reasoningPer1M,
  cachedPer1M: modelPricing.cachedPer1M,
};

export class PgModelPricingRepo implements ModelPricingRepo {
  constructor(private readonly system: WeftDb) {}

  async list(): Promise<ModelPrice[]> {
    return this.system.select(priceColumns).from(modelPricing).orderBy(codePointOrder(modelPricing.provider), codePointOrder(modelPricing.model));
  }

  async get(provider: string, model: string): Promise<ModelPrice | null> {
    const [row] = await this.system
      .select(priceColumns)
      .from(modelPricing)
      .where(and(eq(modelPricing.provider, provider), eq(modelPricing.model, model)));
    return row ?? null;
  }

  async upsert(price: ModelPrice): Promise<ModelPrice> {
    const values = {
      inputPer1M: price.inputPer1M,
      outputPer1M: price.outputPer1M,
      reasoningPer1M: price.reasoningPer1M,
      cachedPer1M: price.cachedPer1M,
      updatedAt: new Date(),
    };
    const [row] = await this.system
      .insert(modelPricing)
      .values({ provider: price.provider, model: price.model, ...values })
      .onConflictDoUpdate({ target: [modelPricing.provider, modelPricing.model], set: values })
      .returning(priceColumns);
    if (!row) throw new Error('upsert returned no row');
    return row;
  }
}
