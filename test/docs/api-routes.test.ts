/**
 * docs/api.md is the reference for the HTTP contract: every route it lists (a heading
 * `### METHOD /path`) must be one the app declares in its served /openapi.json, and every
 * declared route must be listed. The app is built exactly as the api tests build it, so the
 * comparison runs against the real route registration, not a copied list.
 *
 * Routes that the OpenAPI document cannot carry are listed below by name, each with its reason;
 * they must still be documented, and registered, and absent from the document. Finally, every
 * route the app registers must be either declared or listed here, so a route hidden from the
 * document (`schema.hide`) cannot slip past both lists.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestServices, type TestServices } from '../helpers/services.js';

const API_MD = new URL('../../docs/api.md', import.meta.url);

/** Documented in api.md, registered by the app, deliberately absent from /openapi.json. */
const NOT_IN_OPENAPI: Readonly<Record<string, string>> = {
  'GET /v1/ws': '@fastify/websocket marks every WebSocket route hide: true; OpenAPI 3.1 has no way to describe the message protocol',
  'GET /openapi.json': 'the document itself (schema.hide in openapi.plugin.ts)',
  'GET /asyncapi.json': "the WebSocket's AsyncAPI document, beside the OpenAPI one (schema.hide in openapi.plugin.ts)",
  'GET /docs': 'the Swagger UI over the document, registered by @fastify/swagger-ui',
};

/**
 * Registered routes that are neither documented nor declared: the Swagger UI's own assets and
 * its copies of the document (`/docs/json`, `/docs/yaml`, `/docs/static/…`, a `/docs/*`
 * wildcard), owned by @fastify/swagger-ui and described under `GET /docs`.
 */
function isSwaggerUiAsset(route: string): boolean {
  const path = route.split(' ')[1] ?? '';
  return path.startsWith('/docs') && path !== '/docs';
}

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const ROUTE_HEADING = new RegExp(`^### (${HTTP_METHODS.join('|')}) (/\\S*)\\s*$`, 'gm');

/** `/v1/flows/:id` → `/v1/flows/{id}`, the form /openapi.json and api.md use. */
function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** `/v1/flows/{id}` → `/v1/flows/:id`, the form Fastify routes by. */
function toFastifyPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

function documentedRoutes(markdown: string): string[] {
  return [...markdown.matchAll(ROUTE_HEADING)].map((m) => `${m[1]} ${m[2]}`);
}

function declaredRoutes(document: { paths?: Record<string, Record<string, unknown>> }): string[] {
  const routes: string[] = [];
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const method of Object.keys(operations)) {
      const upper = method.toUpperCase();
      if ((HTTP_METHODS as readonly string[]).includes(upper)) routes.push(`${upper} ${path}`);
    }
  }
  return routes;
}

/**
 * Every method and path the app registered, read from Fastify's route tree
 * (`printRoutes({commonPrefix: false})`): each line is a path segment appended to its parent's,
 * nested by four columns, followed by its methods in parentheses.
 */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = (depth === 0 ? '' : stack[depth - 1] ?? '') + (match[2] ?? '');
    stack.length = depth;
    stack.push(path);
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if ((HTTP_METHODS as readonly string[]).includes(method)) routes.push(`${method} ${toOpenApiPath(path)}`);
    }
  }
  return routes;
}

function difference(a: readonly string[], b: readonly string[]): string[] {
  const other = new Set(b);
  return [...new Set(a)].filter((x) => !other.has(x)).sort();
}

function duplicates(list: readonly string[]): string[] {
  return [...new Set(list.filter((x, i) => list.indexOf(x) !== i))].sort();
}

describe('docs/api.md and the served /openapi.json', () => {
  let services: TestServices;
  let t: TestApp;
  let declared: string[];
  let registered: string[];
  const documented = documentedRoutes(readFileSync(API_MD, 'utf8'));

  beforeAll(async () => {
    services = await createTestServices();
    t = await createTestApp({ databaseUrl: services.databaseUrl });
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    declared = declaredRoutes(res.json());
    registered = registeredRoutes(t.app.printRoutes({ commonPrefix: false }));
  });

  afterAll(async () => {
    await t?.close();
    await services?.cleanup();
  });

  it('parses a plausible number of routes from each source', () => {
    // Guards the parsers: a heading or tree format change must not make every list empty.
    expect(documented.length).toBeGreaterThan(20);
    expect(declared.length).toBeGreaterThan(20);
    expect(registered.length).toBeGreaterThan(20);
  });

  it('lists each route once in api.md', () => {
    expect(duplicates(documented), 'routes with more than one heading in docs/api.md').toEqual([]);
  });

  it('documents exactly the routes /openapi.json declares, apart from the listed exceptions', () => {
    const exceptions = Object.keys(NOT_IN_OPENAPI);
    const documentedOnly = difference(documented, [...declared, ...exceptions]);
    const declaredOnly = difference(declared, documented);
    const report = [
      ...declaredOnly.map((r) => `  declared in /openapi.json, missing from docs/api.md: ${r}`),
      ...documentedOnly.map((r) => `  in docs/api.md, not declared in /openapi.json: ${r}`),
    ].join('\n');
    expect({ declaredOnly, documentedOnly }, `routes differ:\n${report}`).toEqual({ declaredOnly: [], documentedOnly: [] });
  });

  it('keeps each exception documented, registered and absent from /openapi.json', () => {
    for (const [route, reason] of Object.entries(NOT_IN_OPENAPI)) {
      expect(reason.length, route).toBeGreaterThan(0);
      const [method = '', path = ''] = route.split(' ');
      expect(documented, `${route} is an exception, so docs/api.md must still document it`).toContain(route);
      expect(declared, `${route} is declared in /openapi.json now: drop it from NOT_IN_OPENAPI`).not.toContain(route);
      expect(t.app.hasRoute({ method, url: toFastifyPath(path) }), `${route} is not registered any more`).toBe(true);
    }
  });

  it('registers no route that is neither declared in /openapi.json nor a listed exception', () => {
    const hidden = difference(registered, [...declared, ...Object.keys(NOT_IN_OPENAPI)])
      .filter((route) => !isSwaggerUiAsset(route));
    expect(hidden, `registered but hidden from /openapi.json and not listed in NOT_IN_OPENAPI:\n  ${hidden.join('\n  ')}`).toEqual([]);
  });
});
