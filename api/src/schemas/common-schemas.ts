/** Schemas shared by several routes; they validate requests and generate the OpenAPI document. */
import { Type } from 'typebox';

export const ErrorDetailSchema = Type.Object({
  path: Type.String({ description: 'JSON pointer into the offending part of the request' }),
  message: Type.String(),
  code: Type.Optional(Type.String()),
}, { title: 'ErrorDetail' });

export const ErrorResponseSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'lowercase error code, e.g. invalid_flow', examples: ['invalid_flow'] }),
      message: Type.String(),
      details: Type.Optional(Type.Array(ErrorDetailSchema)),
    }),
  },
  { title: 'Error', description: 'Every error answers with this shape' },
);

/** The error statuses a route may declare beyond those of its kind (route-contract.ts adds those). */
export type ErrorStatus = 402 | 403 | 409 | 410 | 422 | 501 | 502 | 504;

/**
 * Response entries for the error statuses particular to a route (`errorResponses(409, 410)`);
 * 400, 401, 404, 413, 415, 429, 500 and 503 are added by the route's kind (route-contract.ts).
 */
export function errorResponses(...statuses: ErrorStatus[]): Record<string, typeof ErrorResponseSchema> {
  return Object.fromEntries(statuses.map((s) => [String(s), ErrorResponseSchema]));
}

/**
 * Ids in paths are UUIDs. A malformed id answers 404 not_found (not 400), exactly like a
 * well-formed id that does not exist or belongs to another workspace: an id either names a
 * resource the caller can see or it does not, and the answer never says more than that.
 * The error handler turns a `params` validation failure on `format: uuid` into that 404.
 */
export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });

export const IdParamsSchema = Type.Object({ id: Uuid });

export const PageQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'nextCursor of the previous page' })),
});

export const DateTime = Type.String({ format: 'date-time' });

export const DEFAULT_PAGE_LIMIT = 20;
