/** Model prices (USD per 1M tokens), used to cost every node run. */
import { LLM_PROVIDERS } from '@weft/shared/flow';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { errorResponses } from '../schemas/common-schemas.js';

function price(description = 'USD per 1M tokens') {
  return Type.Number({ minimum: 0, maximum: 1_000_000, description });
}
const Price = price();

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

const PriceBody = Type.Object(
  {
    inputPer1M: Price,
    outputPer1M: Price,
    reasoningPer1M: Type.Optional(price('USD per 1M reasoning tokens; default: outputPer1M')),
    cachedPer1M: Type.Optional(price('USD per 1M cached prompt tokens; default: inputPer1M')),
  },
  { additionalProperties: false },
);

export const modelsRoutes: RoutePlugin = (app, { deps }) => {
  const { pricing } = deps.database.repos;

  app.get(
    '/v1/models',
    { schema: { tags: ['models'], summary: 'Known models and their prices', response: { 200: Type.Array(ModelPriceSchema), ...errorResponses } } },
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
        body: PriceBody,
        response: { 200: ModelPriceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { provider, model } = request.params;
      const { inputPer1M, outputPer1M, reasoningPer1M, cachedPer1M } = request.body;
      const saved = await pricing.upsert({
        provider,
        model,
        inputPer1M,
        outputPer1M,
        // Reasoning tokens are billed as output and cached tokens as input unless priced apart.
        reasoningPer1M: reasoningPer1M ?? outputPer1M,
        cachedPer1M: cachedPer1M ?? inputPer1M,
      });
      request.log.info({ provider, model }, 'model price set');
      return saved;
    },
  );
  return Promise.resolve();
};
