/**
 * HTTP nodes end to end on real processes (one api, one worker, Redis and Postgres): a local
 * server on 127.0.0.1 is the only target. Vault secrets reach the server and nothing else;
 * internal addresses are refused before any connection unless the workspace allows private
 * networks (cloud metadata never).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../helpers/loopback-harness.js';
import { apiClient } from '../helpers/http.js';
import type { WeftProcess } from '../helpers/processes.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, TEST_ADMIN_TOKEN, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWs, type RecordedSocket } from '../helpers/ws-client.js';
import { readSse, wsUrl } from './scenarios.js';

const CANARY = 'vault-canary-5e1f9a7c3b2d-TOKEN';

type Call = ReturnType<typeof apiClient>;

describe('http nodes: api + 1 worker on Redis and Postgres', () => {
  let svc: TestServices;
  let server: LocalServer;
  let stack: DistributedStack;
  let procs: WeftProcess[] = [];
  let baseUrl: string;
  let db: pg.Client;
  /** Workspace that allows private networks. */
  let open: { apiKey: string; call: Call };
  /** Workspace with the default: private networks refused. */
  let closed: { apiKey: string; call: Call };

  async function newWorkspace(name: string): Promise<{ apiKey: string; call: Call }> {
    const res = await apiClient(baseUrl)('POST', '/v1/workspaces', { name }, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const apiKey = res.body.apiKey as string;
    const call = apiClient(baseUrl, apiKey);
    expect((await call('PUT', '/v1/secrets/TOKEN', { value: CANARY })).status).toBe(204);
    return { apiKey, call };
  }

  async function createFlow(call: Call, flow: unknown): Promise<string> {
    const res = await call('POST', '/v1/flows', flow);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  async function subscribe(apiKey: string, flowId: string): Promise<RecordedSocket> {
    const socket = await connectWs(wsUrl(baseUrl), { authorization: `Bearer ${apiKey}` });
    socket.send({ type: 'subscribe', flowId });
    await socket.waitForMessage((m) => m.type === 'subscribed');
    return socket;
  }

  async function nodeRuns(executionId: string, count: number): Promise<Array<Record<string, any>>> {
    return waitFor(async () => {
      const r = await db.query('select node_id, status, attempts, input, output, error from node_runs where execution_id = $1 order by node_id', [executionId]);
      return r.rows.length === count ? r.rows : null;
    }, { timeoutMs: 15_000, message: 'node runs flushed' });
  }

  beforeAll(async () => {
    svc = await createTestServices();
    server = await startLocalServer((req, res) => {
      if (req.url.startsWith('/echo')) {
        // An echoing service: it reflects what it got, secrets included.
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ got: JSON.parse(req.body || 'null'), auth: req.headers.authorization ?? null, path: req.url }));
        return;
      }
      if (req.url === '/unstorable') {
        // Text Postgres refuses: a NUL and a lone surrogate, as JSON escapes.
        res.setHeader('content-type', 'application/json');
        res.end('{"text":"a\\u0000b","lone":"x\\ud800y","pair":"\\ud83d\\ude00"}');
        return;
      }
      if (req.url === '/busy') {
        res.statusCode = 503;
        res.setHeader('retry-after', '1');
        res.end('try later');
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    // Debug logs too must never carry a secret.
    stack = await startDistributedStack({ ...svc, workers: ['w1'], env: { LOG_LEVEL: 'debug', WORKER_CONCURRENCY: '2' } });
    procs = stack.procs;
    baseUrl = stack.baseUrl;

    open = await newWorkspace('http-open');
    const patched = await open.call('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.httpAllowPrivateNetworks).toBe(true);
    closed = await newWorkspace('http-closed');
    expect((await closed.call('GET', '/v1/workspace')).body.httpAllowPrivateNetworks).toBe(false);
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await server?.close();
    await svc?.cleanup();
  });

  it('stores an answer with NUL and lone surrogates (as U+FFFD), and the flusher goes on for everyone', async () => {
    const flowId = await createFlow(open.call, {
      name: 'http-unstorable',
      nodes: [{ id: 'call', type: 'http', method: 'GET', url: `${server.origin}/unstorable` }],
      edges: [],
    });
    const first = await open.call('POST', `/v1/flows/${flowId}/executions`, { wait: true });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.status).toBe('completed');
    const [run] = await nodeRuns(first.body.id as string, 1);
    expect(run?.status).toBe('completed');
    expect(run?.output.body).toEqual({ text: 'a\ufffdb', lone: 'x\ufffdy', pair: '\ud83d\ude00' });
    // Postgres has the whole execution, and the next one (of another workspace) is flushed too.
    await waitFor(async () => (await db.query('select status from executions where id = $1', [first.body.id])).rows[0]?.status === 'completed', { timeoutMs: 15_000, message: 'execution finalized' });
    const otherFlow = await createFlow(closed.call, { name: 'after-unstorable', nodes: [{ id: 't', type: 'transform', expression: '1 + 1' }], edges: [] });
    const next = await closed.call('POST', `/v1/flows/${otherFlow}/executions`, { wait: true });
    expect(next.body.status).toBe('completed');
    expect((await nodeRuns(next.body.id as string, 1))[0]?.output).toBe(2);
  });

  it('sends a vault header and a templated JSON body, parses the JSON answer, and the secret shows up nowhere', async () => {
    const flowId = await createFlow(open.call, {
      name: 'http-echo',
      nodes: [
        {
          id: 'call',
          type: 'http',
          method: 'POST',
          url: `${server.origin}/echo?key={{vault.TOKEN}}`,
          headers: { Authorization: 'Bearer {{vault.TOKEN}}', 'X-Trace': '{{input.trace}}' },
          body: { x: '{{input.x}}', label: 'x is {{input.x.name}}' },
        },
        { id: 'pick', type: 'transform', expression: 'nodes.call.body.got.x' },
      ],
      edges: [{ from: 'call', to: 'pick' }],
    });
    const socket = await subscribe(open.apiKey, flowId);
    try {
      const before = server.requests.length;
      const res = await open.call('POST', `/v1/flows/${flowId}/executions`, { input: { x: { name: 'ada', n: 2 }, trace: 't-1' }, wait: true });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status, JSON.stringify(res.body)).toBe('completed');
      const executionId = res.body.id as string;

      // The server got the real values.
      const received = server.requests.slice(before);
      expect(received).toHaveLength(1);
      expect(received[0]?.method).toBe('POST');
      expect(received[0]?.url).toBe(`/echo?key=${CANARY}`);
      expect(received[0]?.headers.authorization).toBe(`Bearer ${CANARY}`);
      expect(received[0]?.headers['x-trace']).toBe('t-1');
      expect(received[0]?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(received[0]?.body ?? '')).toEqual({ x: { name: 'ada', n: 2 }, label: 'x is ada' });

      // The node output is the parsed JSON answer, with the echoed secret redacted.
      const view = await open.call('GET', `/v1/executions/${executionId}`);
      const call = view.body.nodes.find((n: any) => n.nodeId === 'call');
      expect(call.status).toBe('completed');
      expect(call.output.status).toBe(200);
      expect(call.output.headers['content-type']).toBe('application/json');
      expect(call.output.body).toEqual({ got: { x: { name: 'ada', n: 2 }, label: 'x is ada' }, auth: 'Bearer [secret]', path: '/echo?key=[secret]' });
      expect(view.body.nodes.find((n: any) => n.nodeId === 'pick').output).toEqual({ name: 'ada', n: 2 });

      // The stored resolved input shows placeholders.
      const runs = await nodeRuns(executionId, 2);
      const run = runs.find((r) => r.node_id === 'call');
      expect(run?.input).toEqual({
        method: 'POST',
        url: `${server.origin}/echo?key=[secret]`,
        headers: { Authorization: 'Bearer [secret]', 'X-Trace': 't-1' },
        body: { x: { name: 'ada', n: 2 }, label: 'x is ada' },
      });

      await socket.waitForMessage((m) => m.type === 'execution.completed' && m.executionId === executionId);
      expect(socket.messages.some((m) => m.type === 'node.completed' && m.nodeId === 'call')).toBe(true);
      const sse = await readSse(`${baseUrl}/v1/executions/${executionId}/events`, { authorization: `Bearer ${open.apiKey}` });
      expect(sse.frames.length).toBeGreaterThan(3);
      const seen = [JSON.stringify(res.body), JSON.stringify(view.body), JSON.stringify(runs), JSON.stringify(socket.messages), JSON.stringify(sse.frames), JSON.stringify((await open.call('GET', '/v1/secrets')).body), ...procs.map((p) => p.output())];
      for (const text of seen) expect(text).not.toContain(CANARY);
      // The logs checked are the worker's debug logs of this very request.
      expect(procs[1]?.output()).toContain('http node answered');
    } finally {
      socket.close();
    }
  });

  it('refuses 127.0.0.1, 169.254.169.254, 10.0.0.1 and localhost permanently, before any connection, unless allowed', async () => {
    const targets: Record<string, string> = {
      loopback: `${server.origin}/echo`,
      metadata: 'http://169.254.169.254/latest/meta-data/',
      private: 'http://10.0.0.1/',
      byname: `http://localhost:${server.port}/echo`,
    };
    const flow = {
      name: 'http-refused',
      nodes: Object.entries(targets).map(([id, url]) => ({ id, type: 'http', method: 'GET', url, headers: { Authorization: 'Bearer {{vault.TOKEN}}' }, onError: 'continue' })),
      edges: [],
    };
    const flowId = await createFlow(closed.call, flow);
    const socket = await subscribe(closed.apiKey, flowId);
    try {
      const connections = server.connections();
      const res = await closed.call('POST', `/v1/flows/${flowId}/executions`, { input: {}, wait: true });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      for (const id of Object.keys(targets)) {
        const n = res.body.nodes.find((x: any) => x.nodeId === id);
        expect(n, id).toMatchObject({ status: 'failed', attempts: 1 });
        expect(n.error, id).toMatchObject({ code: 'http_address_blocked', category: 'permanent' });
        expect(n.error.message, id).toContain('refused');
      }
      // Nothing reached the local server: the refusals happened before connecting.
      expect(server.connections()).toBe(connections);
      await socket.waitForMessage((m) => m.executionId === res.body.id && (m.type === 'execution.completed' || m.type === 'execution.failed'));
      expect(socket.messages.filter((m) => m.type === 'node.failed')).toHaveLength(4);
      const seen = [JSON.stringify(res.body), JSON.stringify(socket.messages), ...procs.map((p) => p.output())];
      for (const text of seen) expect(text).not.toContain(CANARY);
      expect(procs[1]?.output()).toContain('http node request refused');

      // Allowing private networks opens loopback and private ranges, never cloud metadata.
      const opened = await open.call('POST', '/v1/flows', flow);
      const allowed = await open.call('POST', `/v1/flows/${opened.body.id as string}/executions`, { input: {}, wait: true });
      const byId = new Map<string, any>(allowed.body.nodes.map((x: any) => [x.nodeId, x]));
      expect(byId.get('loopback')).toMatchObject({ status: 'completed', output: { status: 200 } });
      expect(byId.get('byname')).toMatchObject({ status: 'completed', output: { status: 200 } });
      expect(byId.get('metadata')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'http_address_blocked', category: 'permanent' } });
      expect(byId.get('metadata').error.message).toContain('metadata');
    } finally {
      socket.close();
    }
  });

  it('retries a 503, honouring Retry-After, then fails transient', async () => {
    const flowId = await createFlow(open.call, {
      name: 'http-busy',
      nodes: [{ id: 'busy', type: 'http', method: 'GET', url: `${server.origin}/busy`, headers: { Authorization: '{{vault.TOKEN}}' }, retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } } }],
      edges: [],
    });
    const before = server.requests.length;
    const t0 = Date.now();
    const res = await open.call('POST', `/v1/flows/${flowId}/executions`, { input: {}, wait: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('failed');
    expect(res.body.nodes[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(res.body.error).toMatchObject({ code: 'http_server_error', category: 'transient', nodeId: 'busy' });
    expect(res.body.error.message).toContain('503');
    const hits = server.requests.slice(before).filter((r) => r.url === '/busy');
    expect(hits).toHaveLength(2);
    // Retry-After: 1 wins over the 10 ms backoff.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    const letters = await open.call('GET', '/v1/dead-letters');
    expect(JSON.stringify(letters.body)).not.toContain(CANARY);
  });

  it('rejects ftp:// (and other schemes) when the flow is saved', async () => {
    const res = await open.call('POST', '/v1/flows', {
      name: 'ftp',
      nodes: [{ id: 'get', type: 'http', method: 'GET', url: 'ftp://127.0.0.1/file' }],
      edges: [],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_flow');
    expect(res.body.error.details).toEqual([expect.objectContaining({ path: '/nodes/0/url', code: 'flow_invalid_node_config' })]);
  });

  it('rejects vault references outside http nodes', async () => {
    const res = await open.call('POST', '/v1/flows', {
      name: 'vault-in-transform-input',
      nodes: [{ id: 'a', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'key: {{vault.TOKEN}}' }],
      edges: [],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('/nodes/0/prompt');
  });
});
