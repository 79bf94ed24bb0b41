/**
 * The inputs that used to answer 500 (issue 9): NUL, lone surrogates and 10,000-deep nesting in
 * flow names, expressions, inputs, keys, workspace names, secrets, credentials, settings, path
 * parameters and queries. Each is now a 400 with its own code and a JSON pointer, through the app
 * the tests build (real Postgres); and a value Postgres refuses anyway is a 4xx whose log line
 * shows the statement's parameter shapes, not their content.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
let apiKey: string;
let flowId: string;

const deepArray = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({
    databaseUrl: services.databaseUrl,
    configure: (app) => {
      // A repo handed a value no guard checked: Postgres itself refuses it (the second wall).
      app.post('/test/unguarded-workspace', { config: { auth: 'none' } }, async (request: FastifyRequest, reply: FastifyReply) => {
        await app.deps.database.repos.workspaces.create({ name: 'confidential-tenant-name\u0000' });
        return reply.code(201).send({});
      });
    },
  });
  ({ apiKey } = await t.createWorkspace('guard'));
  const flow = await t.app.inject({
    method: 'POST',
    url: '/v1/flows',
    headers: auth(),
    payload: { name: 'guarded', nodes: [{ id: 'a', type: 'transform', expression: 'input' }] },
  });
  expect(flow.statusCode).toBe(201);
  flowId = flow.json<{ id: string }>().id;
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

function auth(key = apiKey): Record<string, string> {
  return { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
}

interface Probe {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  url: () => string;
  body?: () => string;
  admin?: boolean;
  code: 'invalid_text' | 'json_too_deep' | 'string_too_long';
  path: string;
}

const httpFlow = (body: string): string =>
  `{"name":"h","nodes":[{"id":"call","type":"http","method":"POST","url":"https://example.com","body":${body}}]}`;

const PROBES: Probe[] = [
  { name: 'NUL in a workspace name', method: 'POST', url: () => '/v1/workspaces', admin: true, body: () => '{"name":"a\\u0000"}', code: 'invalid_text', path: '/name' },
  { name: 'lone surrogate in a workspace name', method: 'POST', url: () => '/v1/workspaces', admin: true, body: () => '{"name":"\\ud800"}', code: 'invalid_text', path: '/name' },
  { name: 'NUL in a flow name', method: 'POST', url: () => '/v1/flows', body: () => '{"name":"f\\u0000","nodes":[{"id":"a","type":"transform","expression":"1"}]}', code: 'invalid_text', path: '/name' },
  { name: 'NUL in an expression', method: 'POST', url: () => '/v1/flows', body: () => '{"name":"f","nodes":[{"id":"a","type":"transform","expression":"1\\u0000"}]}', code: 'invalid_text', path: '/nodes/0/expression' },
  { name: 'lone surrogate in a flow update', method: 'PUT', url: () => `/v1/flows/${flowId}`, body: () => '{"nodes":[{"id":"a","type":"transform","expression":"\\udc00"}]}', code: 'invalid_text', path: '/nodes/0/expression' },
  { name: 'NUL in a key of an http body', method: 'POST', url: () => '/v1/flows', body: () => httpFlow('{"ok":{"k\\u0000":1}}'), code: 'invalid_text', path: '/nodes/0/body/ok' },
  { name: '10,000-deep http body', method: 'POST', url: () => '/v1/flows', body: () => httpFlow(deepArray(10_000)), code: 'json_too_deep', path: `/nodes/0/body${'/0'.repeat(61)}` },
  { name: 'NUL in an execution input', method: 'POST', url: () => `/v1/flows/${flowId}/executions`, body: () => '{"input":{"q":["x\\u0000"]}}', code: 'invalid_text', path: '/input/q/0' },
  { name: 'lone surrogate in an input key', method: 'POST', url: () => `/v1/flows/${flowId}/executions`, body: () => '{"input":{"\\ud83d":1}}', code: 'invalid_text', path: '/input' },
  { name: '10,000-deep execution input', method: 'POST', url: () => `/v1/flows/${flowId}/executions`, body: () => `{"input":${deepArray(10_000)}}`, code: 'json_too_deep', path: `/input${'/0'.repeat(63)}` },
  { name: 'NUL in a single-node run input', method: 'POST', url: () => `/v1/flows/${flowId}/nodes/a/runs`, body: () => '{"input":"\\u0000"}', code: 'invalid_text', path: '/input' },
  { name: 'NUL in resume data', method: 'POST', url: () => `/v1/executions/${flowId}/resume`, body: () => '{"nodeId":"a","data":{"v":"\\u0000"}}', code: 'invalid_text', path: '/data/v' },
  { name: 'NUL in a secret', method: 'PUT', url: () => '/v1/secrets/TOKEN', body: () => '{"value":"s\\u0000"}', code: 'invalid_text', path: '/value' },
  { name: 'lone surrogate in a credential', method: 'PUT', url: () => '/v1/credentials/openai', body: () => '{"apiKey":"sk-\\ud800"}', code: 'invalid_text', path: '/apiKey' },
  { name: 'NUL key in settings', method: 'PATCH', url: () => '/v1/workspace', body: () => '{"httpAllowPrivateNetworks":true,"\\u0000":1}', code: 'invalid_text', path: '' },
  { name: 'NUL in a model name (path)', method: 'PUT', url: () => '/v1/models/openai/gpt%00x', admin: true, body: () => '{"inputPer1M":1,"outputPer1M":1}', code: 'invalid_text', path: '/model' },
  { name: 'NUL in a cursor (query)', method: 'GET', url: () => '/v1/flows?cursor=%00', code: 'invalid_text', path: '/cursor' },
  { name: 'a surrogate\'s bytes in a path', method: 'GET', url: () => '/v1/flows/%ED%A0%80', code: 'invalid_text', path: '' },
  { name: 'a string above WEFT_MAX_STRING_LENGTH', method: 'POST', url: () => `/v1/flows/${flowId}/executions`, body: () => JSON.stringify({ input: { text: 'x'.repeat(262_145) } }), code: 'string_too_long', path: '/input/text' },
];

describe('input guard', () => {
  it.each(PROBES)('refuses $name with 400 $code at $path', async (probe) => {
    const headers = probe.admin ? auth(TEST_ADMIN_TOKEN) : auth();
    const res = await t.app.inject({ method: probe.method, url: probe.url(), headers, ...(probe.body ? { payload: probe.body() } : {}) });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ error: { code: string; message: string; details: Array<{ path: string; code: string }> } }>();
    expect(body.error.code).toBe(probe.code);
    expect(body.error.details).toEqual([expect.objectContaining({ path: probe.path, code: probe.code })]);
  });

  it('counts what it refuses by reason', async () => {
    const text = await t.deps.metrics.registry.getSingleMetricAsString('weft_api_input_rejected_total');
    for (const reason of ['invalid_text', 'depth', 'string_length']) expect(text).toMatch(new RegExp(`reason="${reason}"} [1-9]`));
  });

  it('still accepts what is fine: emoji, escapes, nesting within the bound', async () => {
    const input = { text: 'naïve ✓ 😀 \\u0000 as text', nested: JSON.parse(deepArray(60)) as unknown };
    const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers: auth(), payload: { input } });
    expect(res.statusCode).toBe(202);
  });

  it('answers a value Postgres refuses with a 4xx, and logs the parameters\' shape, not their content', async () => {
    const before = t.logs.length;
    const res = await t.app.inject({ method: 'POST', url: '/test/unguarded-workspace' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_request', details: [{ path: '' }] } });
    expect(res.body).not.toContain('confidential');
    const lines = t.logs.slice(before).join('');
    expect(lines).toContain('postgres refused a value of the request');
    expect(lines).toMatch(/params: \[string\(\d+\)/);
    expect(lines).not.toContain('confidential-tenant-name');
    const text = await t.deps.metrics.registry.getSingleMetricAsString('weft_api_input_rejected_total');
    expect(text).toMatch(/reason="db_data"} [1-9]/);
  });

  it('bounds depth by WEFT_MAX_JSON_DEPTH', async () => {
    const shallow = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_MAX_JSON_DEPTH: '8' } });
    try {
      const { apiKey: key } = await shallow.createWorkspace('shallow');
      const flow = await shallow.app.inject({ method: 'POST', url: '/v1/flows', headers: auth(key), payload: { name: 'f', nodes: [{ id: 'a', type: 'transform', expression: '1' }] } });
      const id = flow.json<{ id: string }>().id;
      const at = (levels: number): Promise<{ statusCode: number; body: string }> =>
        shallow.app.inject({ method: 'POST', url: `/v1/flows/${id}/executions`, headers: auth(key), payload: `{"input":${deepArray(levels)}}` });
      // The body object is level 1, so the input may nest 7 arrays.
      expect((await at(7)).statusCode).toBe(202);
      const refused = await at(8);
      expect(refused.statusCode).toBe(400);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'json_too_deep' } });
    } finally {
      await shallow.close();
    }
  });
});
