/**
 * The canary: secrets echoed back by careless targets, in every form, must show up nowhere
 * Weft writes or answers — not whole, not in any piece of 8 or more characters.
 *
 * A provider (the mock, through the official openai, anthropic and gemini SDKs) echoes its API
 * key in its error message and a response header: whole, masked (14 first and 4 last
 * characters), URL-encoded, base64 and JSON-escaped. A local HTTP server does the same with the
 * vault secret an http node sends, in answers and in errors, and echoes a secret sent as a path
 * segment. A token is sent in an API path (`/v1/resume/<token>`) and in `?token=`. Then the api
 * and worker logs, every text and JSON column of Postgres, every Redis key of the deployment,
 * the WebSocket and SSE events and the API answers are searched for each secret's pieces
 * (test/helpers/leak-scan.ts), and must hold none.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { apiClient } from '../helpers/http.js';
import { dumpPostgresText, dumpRedis, findLeaks } from '../helpers/leak-scan.js';
import { startLocalServer, type LocalServer } from '../helpers/loopback-harness.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, STACK_START_MS, TEST_ADMIN_TOKEN, type DistributedStack } from '../helpers/stack.js';
import { SCENARIO_BREAKER } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWs } from '../helpers/ws-client.js';
import { readSse, wsUrl } from './scenarios.js';

/** Each has `/`, `+`, `"` and `\`, so that its URL-encoded and JSON-escaped forms differ from it. */
const PROVIDER_KEY = 'Kc9Q-cnry/7f3a+9c1e"5b2d\\8e4f-wX2z';
const VAULT_SECRET = 'Vt5R-vlt/5e1f+9a7c"3b2d\\TOKEN-q8';
/** Travels as a path segment: to the echo server (vault) and to the api (`/v1/resume/<token>`). */
const PATH_TOKEN = 'PthTk0f3c9a71e2b4d6aa';

const FORMS = ['whole', 'masked', 'url', 'base64', 'json'] as const;
type Form = (typeof FORMS)[number];

function echoed(secret: string, form: Form): string {
  switch (form) {
    case 'whole':
      return secret;
    case 'masked':
      return `${secret.slice(0, 14)}****${secret.slice(-4)}`;
    case 'url':
      return encodeURIComponent(secret);
    case 'base64':
      return Buffer.from(secret).toString('base64');
    case 'json':
      return JSON.stringify(secret).slice(1, -1);
  }
}

const MODELS = { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5', gemini: 'gemini-2.0-flash' } as const;

describe('secret canary: api + 1 worker on Redis and Postgres', () => {
  let svc: TestServices;
  let mock: MockLlm;
  let server: LocalServer;
  let stack: DistributedStack;
  let db: pg.Client;

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    server = await startLocalServer((req, res) => {
      if (req.url.startsWith('/big/')) {
        // A target that answers a provider call with a whole page, the key quoted at its end.
        res.statusCode = 404;
        res.setHeader('content-type', 'text/html');
        res.end(`<html>${'<p>not an LLM API</p>'.repeat(10_000)}${req.headers.authorization ?? ''}</html>`);
        return;
      }
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const [, kind, form] = req.url.split('/');
      const text = form === 'path' ? req.url : echoed(token, form as Form);
      res.setHeader('x-echo', text);
      if (kind === 'echo') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ echo: text, path: req.url }));
        return;
      }
      res.statusCode = 400;
      res.end(`token not accepted: ${text}`);
    });
    // Debug logs too must never carry a secret.
    stack = await startDistributedStack({ ...svc, workers: ['w1'], env: { LOG_LEVEL: 'debug', ...SCENARIO_BREAKER } });
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await server?.close();
    await mock?.close();
    await svc?.cleanup();
  });

  it('finds no piece of any secret in logs, Postgres, Redis, events or API answers', async () => {
    const apiKey = await stack.createWorkspace('canary');
    const call = apiClient(stack.baseUrl, apiKey);
    // The mock and the echo server listen on loopback.
    expect((await call('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
    for (const provider of ['openai', 'anthropic', 'gemini'] as const) {
      const baseUrl = provider === 'openai' ? `${mock.url}/v1` : mock.url;
      expect((await call('PUT', `/v1/credentials/${provider}`, { apiKey: PROVIDER_KEY, baseUrl })).status).toBe(204);
    }
    expect((await call('PUT', '/v1/secrets/TOKEN', { value: VAULT_SECRET })).status).toBe(204);
    expect((await call('PUT', '/v1/secrets/PATH', { value: PATH_TOKEN })).status).toBe(204);

    const auth = { Authorization: 'Bearer {{vault.TOKEN}}' };
    const llmNodes = Object.entries(MODELS).flatMap(([provider, model]) =>
      FORMS.map((form) => ({ id: `${provider}_${form}`, type: 'llm', provider, model: `${model}-mock-echo-key-${form}`, prompt: 'hi', onError: 'continue' })));
    const httpNodes = [...FORMS, 'path'].flatMap((form) => {
      const tail = form === 'path' ? 'path/{{vault.PATH}}' : form;
      return [
        { id: `echo_${form}`, type: 'http', method: 'GET', url: `${server.origin}/echo/${tail}`, headers: auth, onError: 'continue' },
        { id: `fail_${form}`, type: 'http', method: 'GET', url: `${server.origin}/fail/${tail}`, headers: auth, onError: 'continue' },
      ];
    });
    const nodes = [...llmNodes, ...httpNodes];
    const created = await call('POST', '/v1/flows', { name: 'canary', nodes, edges: [] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const flowId = created.body.id as string;

    const socket = await connectWs(wsUrl(stack.baseUrl), { authorization: `Bearer ${apiKey}` });
    try {
      socket.send({ type: 'subscribe', flowId });
      await socket.waitForMessage((m) => m.type === 'subscribed');
      const run = await call('POST', `/v1/flows/${flowId}/executions`, { input: {}, wait: true });
      expect(run.status, JSON.stringify(run.body)).toBe(200);
      const executionId = run.body.id as string;
      await socket.waitForMessage((m) => m.executionId === executionId && (m.type === 'execution.completed' || m.type === 'execution.failed'));

      // Every target did echo: the secrets were in play, and each echo was redacted.
      expect(mock.requests.filter((r) => r.faults.some((f) => f.startsWith('echo-key-')) && r.status === 400)).toHaveLength(15);
      expect(server.requests.filter((r) => r.headers.authorization === `Bearer ${VAULT_SECRET}`)).toHaveLength(12);
      expect(server.requests.some((r) => r.url === `/echo/path/${PATH_TOKEN}`)).toBe(true);
      const byId = new Map<string, any>(run.body.nodes.map((n: any) => [n.nodeId, n]));
      for (const { id } of llmNodes) {
        expect(byId.get(id), id).toMatchObject({ status: 'failed', error: { code: 'llm_bad_request' } });
        expect(byId.get(id).error.message, id).toMatch(/\[(redacted|secret)\]/);
      }
      for (const form of [...FORMS, 'path']) {
        expect(byId.get(`fail_${form}`), form).toMatchObject({ status: 'failed', error: { code: 'http_client_error' } });
        expect(byId.get(`fail_${form}`).error.message, form).toContain('[secret]');
        expect(byId.get(`echo_${form}`), form).toMatchObject({ status: 'completed', output: { status: 200 } });
        expect(byId.get(`echo_${form}`).output.body.echo, form).toContain('[secret]');
        expect(byId.get(`echo_${form}`).output.headers['x-echo'], form).toContain('[secret]');
      }
      expect(byId.get('openai_masked').error.message).toMatch(/\[(redacted|secret)\]\*\*\*\*wX2z/);

      // A token in an API path and in ?token=.
      const resume = await call('POST', `/v1/resume/${PATH_TOKEN}`, {});
      expect(resume.status).toBeGreaterThanOrEqual(400);
      const sse = await readSse(`${stack.baseUrl}/v1/executions/${executionId}/events?token=${encodeURIComponent(apiKey)}`, {});
      expect(sse.frames.some((f) => f.event === 'node.failed')).toBe(true);

      const view = await call('GET', `/v1/executions/${executionId}`);
      const letters = await waitFor(async () => {
        const r = await call('GET', '/v1/dead-letters?limit=100');
        return r.body.items.length === 21 ? r : null;
      }, { timeoutMs: 15_000, message: 'a dead letter per failed node' });
      const runs = await call('GET', `/v1/flows/${flowId}/nodes/openai_masked/runs`);
      // The flusher has written every node run.
      await waitFor(async () => (await db.query('select count(*)::int as n from node_runs where execution_id = $1', [executionId])).rows[0].n === nodes.length, { timeoutMs: 20_000, message: 'node runs flushed' });
      const postgres = await dumpPostgresText(db);
      expect(postgres['pg public.node_runs.error']).toContain('[secret]');
      const redis = await dumpRedis(svc.redisUrl, [`${svc.prefix}:*`, `{${svc.prefix}}:*`]);
      expect(Object.values(redis).some((v) => v.includes(executionId))).toBe(true);

      const answers: Record<string, string> = {
        'api run': JSON.stringify(run.body),
        'api view': JSON.stringify(view.body),
        'api dead letters': JSON.stringify(letters.body),
        'api node runs': JSON.stringify(runs.body),
        'api resume': JSON.stringify(resume.body),
        'api credentials': JSON.stringify((await call('GET', '/v1/credentials')).body),
        'api secrets': JSON.stringify((await call('GET', '/v1/secrets')).body),
        'events ws': JSON.stringify(socket.messages),
        'events sse': JSON.stringify(sse.frames),
      };
      const logs = Object.fromEntries(stack.procs.map((p) => [`log ${p.name}`, p.output()]));
      expect(logs['log w1']).toContain('node failed');
      // Each redaction is logged with its context, and counted.
      expect(logs['log w1']).toContain('secret redacted from the provider error');
      expect(logs['log w1']).toContain('secret redacted from the http node result');
      const metrics = await (await fetch(`http://127.0.0.1:${stack.workers[0]!.port}/metrics`)).text();
      const count = (labels: string): number => Number(new RegExp(`^weft_secret_redactions_total\\{${labels}[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
      expect(count('node_type="llm",part="error"')).toBe(15);
      expect(count('node_type="http",part="error"')).toBe(6);
      expect(count('node_type="http",part="output"')).toBe(6);
      const everywhere = { ...logs, ...postgres, ...redis, ...answers };
      const secrets = { provider: PROVIDER_KEY, vault: VAULT_SECRET, path: PATH_TOKEN, masterKey: stack.env.WEFT_MASTER_KEY!, admin: TEST_ADMIN_TOKEN };
      expect(findLeaks(secrets, everywhere)).toEqual([]);
      // The workspace key is answered once, at creation, and its prefix is stored by design: never logged or published.
      expect(findLeaks({ apiKey }, { ...logs, ...redis, 'events ws': answers['events ws']!, 'events sse': answers['events sse']! })).toEqual([]);
    } finally {
      socket.close();
    }
  }, 120_000);

  it('caps a provider error that quotes a whole page, stored and published alike', async () => {
    const apiKey = await stack.createWorkspace('big-page');
    const call = apiClient(stack.baseUrl, apiKey);
    expect((await call('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
    expect((await call('PUT', '/v1/credentials/openai-compatible', { apiKey: PROVIDER_KEY, baseUrl: `${server.origin}/big/v1` })).status).toBe(204);
    const created = await call('POST', '/v1/flows', { name: 'big', nodes: [{ id: 'ask', type: 'llm', provider: 'openai-compatible', model: 'any', prompt: 'hi', stream: false }], edges: [] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const run = await call('POST', `/v1/flows/${created.body.id as string}/executions`, { input: {}, wait: true });
    expect(run.body.status).toBe('failed');
    const error = run.body.nodes[0].error;
    expect(error.code).toBe('llm_model_not_found');
    // The page (~220 KB) was answered: only its start is kept, under the provider cap.
    expect(server.requests.some((r) => r.url.startsWith('/big/'))).toBe(true);
    expect(error.message).toContain('not an LLM API');
    expect(error.message.length).toBeLessThanOrEqual(520);
    const stored = await waitFor(async () => (await db.query('select error from node_runs where execution_id = $1', [run.body.id])).rows[0]?.error, { timeoutMs: 15_000, message: 'node run flushed' });
    expect(JSON.stringify(stored).length).toBeLessThan(1000);
    expect(findLeaks({ provider: PROVIDER_KEY }, { run: JSON.stringify(run.body), stored: JSON.stringify(stored) })).toEqual([]);
  }, 60_000);
});
