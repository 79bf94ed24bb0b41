/** Model prices (USD per 1M tokens), used to cost every node run. */
import { LLM_PROVIDERS } from '@weft/shared/flow';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { errorResponses } from '../schemas/common-schemas.js';
import { Price, PriceRatesBody, priceRates } from '../schemas/price-schemas.js';

const ModelPriceSchema = Type.Object({
  provider: Type.String(),
  model: Type.String(),
  inputPer1M: Price,
  outputPer1M: Price,
  reasoningPer1M: Price,
  cachedPer1M: Price,
});

const PriceParams = Type.Object({
  provider: Type.Enum([...LLM_PROVIDERS]),
  model: Type.String({ minLength: 1, maxLength: 200 }),
});

export const modelsRoutes: RoutePlugin = (app, { deps }) => {
  const { pricing } = deps.database.repos;

  app.get(
    '/v1/models',
    { schema: { tags: ['models'], summary: 'Known models and their prices', response: { 200: Type.Array(ModelPriceSchema), ...errorResponses() } } },
    () => pricing.list(),
  );

  app.put(
    '/v1/models/:provider/:model',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['models'],
        summary: 'Set the price of a model (admin token)',
        security: [{ adminToken: [] }],
        params: PriceParams,
        body: PriceRatesBody,
        response: { 200: ModelPriceSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const { provider, model } = request.params;
      const saved = await pricing.upsert({ provider, model, ...priceRates(request.body) });
      request.log.info({ provider, model }, 'model price set');
      return saved;
    },
  );
  return Promise.resolve();
};
