/**
 * Property: whatever a client sends to any route of the served `/openapi.json`, the api never
 * answers 5xx, and every 4xx is in the documented error shape (docs/api.md, "Errors").
 *
 * Each case picks a route, derives valid-ish path parameters, query, headers and body from the
 * route's schemas (flows start from the fixtures), then maybe mutates them the way a hostile
 * tenant would: NUL and lone surrogates, 10,000-deep nesting, huge strings, wrong types, unknown
 * and hostile keys, a bad percent-encoding in the path, a missing key. The app is the one the
 * tests build (test-app.ts: real Postgres), driven through inject().
 *
 * `FUZZ_RUNS` (default 20,000) sets the number of cases, `FUZZ_SEED` replays a run: the seed is
 * printed at the start, and fast-check prints it with the counterexample on failure.
 */
import { errorCatalog } from '@weft/shared/errors';
import fc from 'fast-check';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorResponseSchema } from '../../api/src/schemas/common-schemas.js';
import { loadFlowFixture, VALID_FLOW_FIXTURES } from '../fixtures/flows/flow-fixtures.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { createTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/test-app.js';
import { bodyText, HOSTILE_TEXTS, mutate, mutationArb, schemaArb, type JsonSchema, type Mutation } from './openapi-arbitraries.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);
/** Cases per batch, sent concurrently. */
const BATCH = 16;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
/**
 * The explicit budget: 60 s for the default 20,000 cases (about 1.7 ms of api CPU each, measured
 * on the 2-core machines), proportionally more for a longer run; FUZZ_BUDGET_MS overrides it.
 */
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? Math.max(60_000, RUNS * 3));

interface OpenApiParameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema?: JsonSchema;
}

interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: unknown[];
}

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  params: OpenApiParameter[];
  query: OpenApiParameter[];
  headers: OpenApiParameter[];
  body: JsonSchema | null;
  admin: boolean;
}

/** Raw path segments no valid id looks like: NUL, invalid UTF-8 (a surrogate's CESU bytes), overlong, traversal. */
const HOSTILE_SEGMENTS = ['%00', 'a%00b', '%ED%A0%80', '%ED%B0%80x', '%C0%80', '%FF', 'x'.repeat(300), 'x'.repeat(3_000), '..', '%2E%2E%2F', '%20', '%F0%9F%98%80'];
/** Raw query values: the same, plus wrong types for numbers and enums. */
const HOSTILE_QUERY_VALUES = ['%00', '%ED%A0%80', '%C0', 'abc', '-1', '1e400', '', 'x'.repeat(2_000), '%F0%9F%98%80'];

let services: TestServices;
let t: TestApp;
let apiKey: string;
let routes: Route[];
let reached = 0;

const known: { flowId: string; executionId: string; nodeIds: string[] } = { flowId: '', executionId: '', nodeIds: [] };

/** The value with every `$ref` to a named schema replaced by that schema (the document has no cycles). */
function inlineRefs(value: unknown, schemas: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((v) => inlineRefs(v, schemas));
  if (typeof value !== 'object' || value === null) return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) return inlineRefs(schemas[ref.slice('#/components/schemas/'.length)], schemas);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inlineRefs(v, schemas)]));
}

function routesOf(served: { paths: Record<string, Record<string, OpenApiOperation>>; components?: { schemas?: Record<string, unknown> } }): Route[] {
  const doc = { paths: inlineRefs(served.paths, served.components?.schemas ?? {}) as typeof served.paths };
  const out: Route[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = op.parameters ?? [];
      out.push({
        method: method.toUpperCase() as Route['method'],
        path,
        params: params.filter((p) => p.in === 'path'),
        query: params.filter((p) => p.in === 'query'),
        headers: params.filter((p) => p.in === 'header'),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
        admin: JSON.stringify(op.security ?? []).includes('adminToken'),
      });
    }
  }
  return out;
}

/** The SSE route streams until its execution ends: it is only called with ids that do not exist. */
const isStream = (route: Route): boolean => route.path.endsWith('/events');

function pathParamArb(route: Route, param: OpenApiParameter): fc.Arbitrary<string> {
  const schemaValue = schemaArb(param.schema).map((v) => encodeURIComponent(String(v)));
  const knownValues: string[] = [];
  if (param.name === 'id' && !isStream(route)) knownValues.push(route.path.startsWith('/v1/flows') ? known.flowId : known.executionId);
  if (param.name === 'nodeId') knownValues.push(...known.nodeIds);
  return fc.oneof(
    { weight: 4, arbitrary: knownValues.length > 0 ? fc.constantFrom(...knownValues) : schemaValue },
    { weight: 3, arbitrary: schemaValue },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
  );
}

function queryArb(route: Route): fc.Arbitrary<string> {
  const entries = route.query.map((p) =>
    fc.option(
      fc.oneof(
        { weight: 4, arbitrary: schemaArb(p.schema).map((v) => `${p.name}=${encodeURIComponent(String(v))}`) },
        { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_QUERY_VALUES).map((v) => `${p.name}=${v}`) },
      ),
      { nil: null, freq: 2 },
    ),
  );
  // A parameter the route does not declare answers 400 (api.md, "Query strings"): one case in five has one.
  const extra = fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('unknown=1', '%00=1', 'limit=1&limit=2', 'a[b]=1', '%ED%A0%80=x') },
  );
  return fc.tuple(fc.tuple(...entries), extra).map(([values, more]) => [...values, more].filter((v): v is string => v !== null).join('&'));
}

function headerArb(route: Route): fc.Arbitrary<Record<string, string>> {
  const auth = fc.oneof(
    { weight: 16, arbitrary: fc.constant(route.admin ? TEST_ADMIN_TOKEN : apiKey).map((k) => `Bearer ${k}`) },
    { weight: 1, arbitrary: fc.constantFrom('Bearer wk_unknown0123456789abcdef0123456789', 'Basic abc', `Bearer ${'x'.repeat(2_000)}`, '') },
  );
  const contentType = fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', '');
  const declared = route.headers.map((h) =>
    fc.option(fc.oneof(schemaArb(h.schema).map(String), fc.constantFrom('x'.repeat(300), 'ÿ', ' ')).map((v) => [h.name, v] as const), { nil: null }),
  );
  const streamHeaders = isStream(route) ? fc.option(fc.constantFrom('1-0', 'abc', '%00').map((v) => ['last-event-id', v] as const), { nil: null }) : fc.constant(null);
  return fc.tuple(auth, contentType, fc.tuple(...declared), streamHeaders).map(([authorization, type, extras, stream]) => {
    const headers: Record<string, string> = {};
    if (authorization !== '') headers.authorization = authorization;
    if (type !== '') headers['content-type'] = type;
    for (const entry of [...extras, stream]) if (entry !== null) headers[entry[0]] = entry[1];
    return headers;
  });
}

/** Bodies: the route's schema, or (flow writes) a fixture; then maybe a hostile mutation. */
function bodyArb(route: Route): fc.Arbitrary<{ text: string | null; mutation: Mutation }> {
  if (route.body === null) {
    const none: Mutation = { kind: 'none' };
    return fc.option(fc.constantFrom('{}', '{"a":1}', '"\\u0000"', '[[[[]]]]'), { nil: null, freq: 4 }).map((text) => ({ text, mutation: none }));
  }
  const isFlowWrite = route.path === '/v1/flows' || (route.path === '/v1/flows/{id}' && route.method === 'PUT');
  const base = isFlowWrite
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FLOW_SEEDS).map((f) => structuredClone(f)) }, { weight: 1, arbitrary: schemaArb(route.body) })
    : schemaArb(route.body);
  return fc.tuple(base, mutationArb).map(([value, mutation]) => {
    let body = mutate(value, mutation);
    body = boundWait(body);
    return { text: bodyText(body), mutation };
  });
}

/** Without a worker, `wait: true` would hold a start for its whole timeoutMs: keep it short. */
function boundWait(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const b = body as Record<string, unknown>;
  if (b.wait === true && (b.timeoutMs === undefined || (typeof b.timeoutMs === 'number' && b.timeoutMs > 5))) b.timeoutMs = 2;
  return b;
}

/** Valid flows to mutate: the fixtures, and flows with an http body and a map to reach their walkers. */
const FLOW_SEEDS: unknown[] = [
  ...VALID_FLOW_FIXTURES.map((name) => loadFlowFixture(name)),
  {
    name: 'http',
    nodes: [{ id: 'call', type: 'http', method: 'POST', url: 'https://example.com/{{input.p}}', headers: { 'x-a': '{{input.h}}' }, body: { a: { b: ['{{input.v}}', { c: 'd' }] } } }],
  },
  {
    name: 'map',
    nodes: [
      { id: 'list', type: 'transform', expression: '[1,2,3]' },
      { id: 'each', type: 'map', items: '{{list}}', nodes: [{ id: 'double', type: 'transform', expression: 'item * 2' }] },
    ],
    edges: [{ from: 'list', to: 'each' }],
  },
];

const LOWER_CODES: ReadonlySet<string> = new Set(Object.keys(errorCatalog).map((c) => c.toLowerCase()));
/** Codes that refuse a part of the request: their answer must point at it. */
const POINTED_CODES: ReadonlySet<string> = new Set(['invalid_request', 'invalid_flow', 'json_too_deep', 'string_too_long', 'invalid_text']);

interface Case {
  route: Route;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  mutation: Mutation;
}

function caseArb(): fc.Arbitrary<Case> {
  return fc.nat({ max: routes.length - 1 }).chain((index) => {
    const route = routes[index] as Route;
    const params = fc.tuple(...route.params.map((p) => pathParamArb(route, p)));
    return fc.tuple(params, queryArb(route), headerArb(route), bodyArb(route)).map(([values, query, headers, body]) => {
      let path = route.path;
      route.params.forEach((p, i) => {
        path = path.replace(`{${p.name}}`, values[i] ?? '');
      });
      return { route, url: query === '' ? path : `${path}?${query}`, headers, body: body.text, mutation: body.mutation };
    });
  });
}

function describeCase(c: Case): string {
  const body = c.body === null ? '' : ` body(${c.body.length}): ${c.body.slice(0, 300)}`;
  return `${c.route.method} ${c.url.slice(0, 300)} mutation=${c.mutation.kind} headers=${JSON.stringify(c.headers).slice(0, 300)}${body}`;
}

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({
    databaseUrl: services.databaseUrl,
    // Quiet: 20,000 requests of logs would cost more than the requests.
    // Rate limits are tested on their own (rate-limit.plugin.test.ts): here they would refuse most cases.
    env: { LOG_LEVEL: 'warn', WEFT_RATE_LIMIT_PER_KEY: '0', WEFT_RATE_LIMIT_PER_WORKSPACE: '0' },
    configure: (app) => {
      // preHandler runs once every check (auth, body parser, input guard, schemas) has passed.
      app.addHook('preHandler', (_request, _reply, done) => {
        reached++;
        done();
      });
    },
  });
  ({ apiKey } = await t.createWorkspace('fuzz'));
  const auth = { authorization: `Bearer ${apiKey}` };
  const flow = await t.app.inject({ method: 'POST', url: '/v1/flows', headers: auth, payload: loadFlowFixture('diamond') as object });
  expect(flow.statusCode).toBe(201);
  const created = flow.json<{ id: string; nodes: Array<{ id: string }> }>();
  known.flowId = created.id;
  known.nodeIds = created.nodes.map((n) => n.id);
  const started = await t.app.inject({ method: 'POST', url: `/v1/flows/${created.id}/executions`, headers: auth, payload: { input: { topic: 'x' } } });
  expect(started.statusCode).toBe(202);
  known.executionId = started.json<{ executionId: string }>().executionId;
  const doc = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  routes = routesOf(doc.json());
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

describe('api fuzz', () => {
  it(
    `answers ${RUNS} generated and mutated requests over every OpenAPI route without a 5xx, every 4xx in the error shape`,
    async () => {
      expect(routes.length).toBeGreaterThan(25);
      process.stdout.write(`api fuzz: ${RUNS} cases over ${routes.length} routes, seed ${SEED} (replay: FUZZ_SEED=${SEED})\n`);
      const statuses = new Map<number, number>();
      const codes = new Map<string, number>();
      const reachedBefore = reached;
      const cpuBefore = process.cpuUsage();
      const startedAt = performance.now();
      let cases = 0;
      const check = async (c: Case): Promise<void> => {
        cases++;
        const res = await t.app.inject({ method: c.route.method, url: c.url, headers: c.headers, ...(c.body === null ? {} : { payload: c.body }) });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500) throw new Error(`${res.statusCode} ${res.body.slice(0, 300)} for ${describeCase(c)}`);
        if (res.statusCode < 400) return;
        const body: unknown = JSON.parse(res.body);
        if (!Value.Check(ErrorResponseSchema, body)) throw new Error(`not the error shape: ${res.body.slice(0, 300)} for ${describeCase(c)}`);
        const { code, details } = body.error;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (!LOWER_CODES.has(code)) throw new Error(`unknown code ${code} for ${describeCase(c)}`);
        if (POINTED_CODES.has(code) && (details === undefined || details.length === 0 || details.some((d) => d.path !== '' && !d.path.startsWith('/')))) {
          throw new Error(`${code} without a JSON path: ${res.body.slice(0, 300)} for ${describeCase(c)}`);
        }
      };
      // Cases go in batches answered concurrently, as clients would send them: the database's
      // round trips overlap, which is what fits 20,000 cases in the budget.
      await fc.assert(
        fc.asyncProperty(fc.array(caseArb(), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          await Promise.all(batch.map(check));
        }),
        { numRuns: Math.ceil(RUNS / BATCH), seed: SEED, endOnFailure: true },
      );
      const share = (reached - reachedBefore) / cases;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMsPerCase = (cpu.user + cpu.system) / 1000 / cases;
      process.stdout.write(
        `api fuzz: ${cases} cases, ${(share * 100).toFixed(1)}% reached a handler, ${((1 - share) * 100).toFixed(1)}% refused before it; ` +
          `${((performance.now() - startedAt) / 1000).toFixed(1)} s, ${cpuMsPerCase.toFixed(2)} ms of api CPU per case; ` +
          `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; codes ${JSON.stringify(Object.fromEntries(codes))}\n`,
      );
      expect(cases).toBe(Math.ceil(RUNS / BATCH) * BATCH);
      // Both halves are exercised: valid-ish cases get through, hostile ones are refused.
      expect(share).toBeGreaterThan(0.2);
      expect(share).toBeLessThan(0.9);
      for (const code of ['json_too_deep', 'string_too_long', 'invalid_text']) expect(codes.get(code) ?? 0).toBeGreaterThan(0);
    },
    BUDGET_MS,
  );

  it('refuses each hostile text of the generator in a nested input with 400 and its pointer', async () => {
    const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    for (const text of HOSTILE_TEXTS) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${known.flowId}/executions`, headers: auth, payload: JSON.stringify({ input: { deep: [{ x: text }] } }) });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'invalid_text', details: [{ path: '/input/deep/0/x', code: 'invalid_text' }] } });
    }
  });
});
