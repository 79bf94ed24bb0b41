/**
 * The conventions every route follows without writing them out (api.md, "Conventions"), applied
 * by an onRoute hook registered before any route:
 * - an `operationId` (derived from the method and path unless the route names one);
 * - the error statuses every route of its kind can answer, in the error shape: 400, 500 and 503
 *   always, 401 and 429 when it needs a key, 404 when its path has a parameter, 413 and 415 when
 *   it takes a body. A route adds its own (409, 410, 422 …) with `errorResponses(409)`;
 * - an unknown query parameter answers 400: the route's query schema refuses properties it
 *   does not declare, and a route without one takes no query at all.
 * Pure functions over the route options, so that the OpenAPI test can check them too.
 */
import { IsObject, Type, type TSchema } from 'typebox';
import type { RouteAuth } from '../fastify-types.js';
import { ErrorResponseSchema } from '../schemas/common-schemas.js';

interface RouteShape {
  method: string | string[];
  url: string;
  schema?: Record<string, unknown>;
  config?: { auth?: RouteAuth };
}

/** `GET /v1/flows/:id/nodes/:nodeId/runs` → `getFlowsByIdNodesByNodeIdRuns`. */
export function deriveOperationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((part) => part !== '' && part !== 'v1')
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .join('-')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '');
  return [method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join('');
}

function authOf(route: RouteShape): RouteAuth {
  return route.config?.auth ?? (route.url.startsWith('/v1/') ? 'workspace' : 'none');
}

/** The error statuses a route answers by its kind alone (see the file comment). */
export function defaultErrorStatuses(route: RouteShape): number[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const statuses = [400, 500, 503];
  if (authOf(route) !== 'none') statuses.push(401);
  if (authOf(route) === 'workspace' || authOf(route) === 'workspace-or-admin') statuses.push(429);
  if (route.url.includes(':')) statuses.push(404);
  if (methods.some((m) => ['POST', 'PUT', 'PATCH'].includes(m.toUpperCase()))) statuses.push(413, 415);
  return statuses.sort((a, b) => a - b);
}

const NoQuery = Type.Object({}, { additionalProperties: false });

/** Applies the conventions to a route's options, in place (called from onRoute). */
export function applyRouteContract(route: RouteShape): void {
  // The Swagger UI's own pages and assets (@fastify/swagger-ui) are not Weft's contract.
  if (route.url === '/docs' || route.url.startsWith('/docs/')) return;
  if (route.schema === undefined) route.schema = {};
  const schema = route.schema;
  if (schema.operationId === undefined && typeof route.method === 'string') schema.operationId = deriveOperationId(route.method, route.url);
  // The document's default is a workspace key; other routes say what they take.
  if (schema.security === undefined && authOf(route) === 'none') schema.security = [];
  if (schema.security === undefined && authOf(route) === 'admin') schema.security = [{ adminToken: [] }];
  if (schema.security === undefined && authOf(route) === 'workspace-or-admin') schema.security = [{ apiKey: [] }, { adminToken: [] }];
  const query = schema.querystring as (TSchema & { type?: unknown; additionalProperties?: unknown }) | undefined;
  if (query === undefined) schema.querystring = NoQuery;
  // Rebuilt with TypeBox (not spread): its query coercion (Value.Convert) needs the schema's kind.
  else if (IsObject(query) && (query as { additionalProperties?: unknown }).additionalProperties === undefined) {
    const { description } = query as { description?: string };
    schema.querystring = Type.Object(query.properties, { ...(description === undefined ? {} : { description }), additionalProperties: false });
  }
  const response = schema.response as Record<string, unknown> | undefined;
  if (response === undefined || schema.hide === true) return;
  for (const status of defaultErrorStatuses(route)) response[String(status)] ??= ErrorResponseSchema;
}
