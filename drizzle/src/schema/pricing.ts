import { numeric, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

/** USD per 1M tokens, per kind. */
export const modelPricing = pgTable(
  'model_pricing',
  {
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    inputPer1M: numeric('input_per_1m', { mode: 'number' }).notNull(),
    outputPer1M: numeric('output_per_1m', { mode: 'number' }).notNull(),
    reasoningPer1M: numeric('reasoning_per_1m', { mode: 'number' }).notNull(),
    cachedPer1M: numeric('cached_per_1m', { mode: 'number' }).notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'model_pricing_pk', columns: [t.provider, t.model] })],
);
