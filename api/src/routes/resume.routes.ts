/** Resume links (api.md, "POST /v1/resume/{token}"): no API key, the signed token is the credential. */
import { RESUME_LINK_MAX_LENGTH } from '@weft/shared/crypto';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { errorResponses } from '../schemas/common-schemas.js';
import { ResumeAcceptedSchema } from '../schemas/execution-schemas.js';

export const resumeRoutes: RoutePlugin = (app, { deps }) => {
  app.post(
    '/v1/resume/:token',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['executions'],
        summary: 'Resume the waiting node a resume link names, once, without an API key; the body becomes its output',
        params: Type.Object({ token: Type.String({ minLength: 1, maxLength: RESUME_LINK_MAX_LENGTH }) }),
        body: Type.Optional(Type.Unknown({ description: "Any JSON: the wait node's output (null when absent)" })),
        response: { 202: ResumeAcceptedSchema, ...errorResponses(409, 410) },
      },
    },
    async (request, reply) => {
      const { executionId, nodeId } = await deps.engine.resumeByLink({ token: request.params.token, data: request.body ?? null });
      return reply.code(202).send({ executionId, nodeId, status: 'resuming' as const });
    },
  );
  return Promise.resolve();
};
