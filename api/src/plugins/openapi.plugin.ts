/**
 * The OpenAPI document, generated from the route schemas (so it cannot drift), served at
 * `/openapi.json` and browsable at `/docs`. Registered before any route so that every route
 * is collected, and so that its onRoute hook applies the route conventions (route-contract.ts).
 *
 * Named schemas: every schema with a `title` (Flow, Execution, Error, LlmNode, …) is moved to
 * `components.schemas` under that title and referenced from where it was, so that a generated
 * client gets one named type per concept. Two different schemas with one title are a bug and
 * fail the document.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { EventSchema } from '../schemas/execution-schemas.js';
import { asyncApiDocument } from './asyncapi.js';
import { applyRouteContract } from './route-contract.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Replaces every titled schema under `node` by a $ref to `components.schemas[title]`, innermost first. */
function hoistTitled(node: Json, components: Record<string, Json>, isSchema: boolean): Json {
  if (Array.isArray(node)) return node.map((item) => hoistTitled(item, components, isSchema));
  if (!isObject(node)) return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    // Inside a schema every sub-object may be a schema, except the names under `properties`.
    out[key] = hoistTitled(value, components, isSchema || key === 'schema' || key === 'schemas');
  }
  const title = out.title;
  if (!isSchema || typeof title !== 'string' || !/^[A-Za-z0-9_]+$/.test(title)) return out;
  const existing = components[title];
  if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(out)) {
    throw new Error(`two different schemas are titled ${title}: give one another title`);
  }
  components[title] = out;
  return { $ref: `#/components/schemas/${title}` };
}

/**
 * The document with its titled schemas moved to components. `extra`: named schemas no route
 * body carries (the events, sent over SSE and the WebSocket) that clients still need.
 */
export function withNamedSchemas<T extends { paths?: unknown; components?: unknown }>(document: T, extra: readonly object[] = []): T {
  const components: Record<string, Json> = {};
  const paths = hoistTitled(document.paths as Json, components, false);
  for (const schema of extra) hoistTitled(JSON.parse(JSON.stringify(schema)) as Json, components, true);
  const existing = isObject(document.components) ? document.components : {};
  const existingSchemas = isObject(existing.schemas) ? existing.schemas : {};
  const sorted = Object.fromEntries(Object.entries({ ...existingSchemas, ...components }).sort(([a], [b]) => a.localeCompare(b)));
  return { ...document, paths, components: { ...existing, schemas: sorted } };
}

async function openApiPlugin(app: FastifyInstance): Promise<void> {
  app.addHook('onRoute', (route) => {
    applyRouteContract(route as Parameters<typeof applyRouteContract>[0]);
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Weft API',
        version: '1.0.0',
        description: 'Durable AI workflows: DAGs of LLM, HTTP and data steps, watched live. '
          + 'The WebSocket protocol of GET /v1/ws is the AsyncAPI 3 document at /asyncapi.json; its frames are the Event schemas.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: app.deps.config.publicUrl, description: 'WEFT_PUBLIC_URL' }],
      tags: [
        { name: 'operations', description: 'Health, readiness, metrics and queues' },
        { name: 'workspaces', description: 'Workspaces and their settings' },
        { name: 'api-keys', description: 'API keys of a workspace' },
        { name: 'credentials', description: 'Provider credentials of a workspace' },
        { name: 'secrets', description: 'Secrets of a workspace' },
        { name: 'models', description: 'Models and prices' },
        { name: 'flows', description: 'Flows and their versions' },
        { name: 'executions', description: 'Executions, node runs, dead letters, resume' },
        { name: 'events', description: 'Live events: SSE here; the WebSocket (GET /v1/ws) in /asyncapi.json' },
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A workspace API key' },
          adminToken: { type: 'http', scheme: 'bearer', description: 'WEFT_ADMIN_TOKEN' },
        },
      },
      security: [{ apiKey: [] }],
    },
    transformObject: (documents) => withNamedSchemas('openapiObject' in documents ? documents.openapiObject : documents.swaggerObject, [EventSchema]),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'none' } }, () => app.swagger());
  const asyncApi = asyncApiDocument(app.deps.config.publicUrl);
  app.get('/asyncapi.json', { schema: { hide: true }, config: { auth: 'none' } }, () => asyncApi);
}

export default fp(openApiPlugin, { name: 'weft-openapi', fastify: '5.x' });
