/** Prices in USD per 1M tokens, per kind: a model's row, or a workspace's fallback price. */
import type { PriceRates } from '@weft/db/repos';
import { Type, type Static } from 'typebox';

export function price(description = 'USD per 1M tokens') {
  return Type.Number({ minimum: 0, maximum: 1_000_000, description });
}
export const Price = price();

export const PriceRatesSchema = Type.Object({ inputPer1M: Price, outputPer1M: Price, reasoningPer1M: Price, cachedPer1M: Price });

/** What a client sends: reasoning and cached prices may be left out. */
export const PriceRatesBody = Type.Object(
  {
    inputPer1M: Price,
    outputPer1M: Price,
    reasoningPer1M: Type.Optional(price('USD per 1M reasoning tokens; default: outputPer1M')),
    cachedPer1M: Type.Optional(price('USD per 1M cached prompt tokens; default: inputPer1M')),
  },
  { additionalProperties: false },
);

/** Reasoning tokens are billed as output and cached tokens as input unless priced apart. */
export function priceRates(body: Static<typeof PriceRatesBody>): PriceRates {
  return {
    inputPer1M: body.inputPer1M,
    outputPer1M: body.outputPer1M,
    reasoningPer1M: body.reasoningPer1M ?? body.outputPer1M,
    cachedPer1M: body.cachedPer1M ?? body.inputPer1M,
  };
}
