/**
 * The http node executor against local servers on 127.0.0.1: rendering (vault values in the
 * request only), redaction of what is stored, status classification and the address policy.
 * A tripwire keeps every socket on loopback whatever the code under test does.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeResult } from '@weft/shared/model';
import { WeftError } from '@weft/shared/errors';
import type { HttpNode } from '@weft/shared/flow';
import { createLogger } from '@weft/shared/logging';
import { createMetrics, type WeftMetrics } from '@weft/shared/metrics';
import { installConnectionTripwire, startLocalServer, stubLookup, type ConnectionTripwire, type Handler, type LocalServer } from '../../../test/helpers/loopback-harness.js';
import { createHttpNodeExecutor, HTTP_MAX_RETRY_AFTER_MS, type HttpNodeDeps } from './http.node.js';
import { encodeHttpBody, httpNodeSecretNames, placeholderVault, renderHttpRequest } from './render-http-request.js';
import type { NodeOutcome } from '@weft/shared/ports';

const TOKEN = 'tok-9c1e5b2d8e4f-SECRET';
const OTHER = 'other-secret-value-77';

let servers: LocalServer[] = [];
let tripwire: ConnectionTripwire;
let logs: string[];
let metrics: WeftMetrics;

beforeEach(() => {
  tripwire = installConnectionTripwire();
  logs = [];
  metrics = createMetrics();
});

afterEach(async () => {
  tripwire.restore();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  expect(tripwire.tripped).toEqual([]);
});

async function serve(handler: Handler): Promise<LocalServer> {
  const server = await startLocalServer(handler);
  servers.push(server);
  return server;
}

/** Answers with what it received, as JSON: an echoing service. */
const echo: Handler = (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.setHeader('x-echo', req.headers.authorization ?? '');
  res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: req.body }));
};

interface RunOptions {
  allowPrivate?: boolean;
  secrets?: Record<string, string>;
  input?: unknown;
  results?: Record<string, NodeResult>;
  deps?: Partial<HttpNodeDeps>;
}

function upstream(output: unknown): NodeResult {
  return { status: 'completed', output, usage: null } as NodeResult;
}

function setup(options: RunOptions = {}): { run: (node: HttpNode) => Promise<NodeOutcome>; reads: { settings: number; secrets: string[][] } } {
  const reads = { settings: 0, secrets: [] as string[][] };
  const stored = options.secrets ?? { TOKEN, OTHER };
  const sources: Pick<HttpNodeDeps, 'egress' | 'secrets'> = {
    egress: {
      egressPolicy: (): Promise<{ allowPrivateNetworks: boolean }> => {
        reads.settings += 1;
        return Promise.resolve({ allowPrivateNetworks: options.allowPrivate ?? true });
      },
    },
    secrets: {
      secrets: (_ws: string, names: readonly string[]): Promise<Record<string, string>> => {
        reads.secrets.push([...names]);
        return Promise.resolve(Object.fromEntries(names.filter((n) => Object.hasOwn(stored, n)).map((n) => [n, stored[n] ?? ''])));
      },
    },
  };
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      logs.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', name: 'http-node-test', destination });
  const execute = createHttpNodeExecutor({ ...sources, metrics, ...options.deps });
  return {
    reads,
    run: (node) =>
      execute({
        node,
        outEdges: [],
        workspaceId: 'ws',
        executionId: 'ex',
        attempt: 1,
        input: options.input ?? { x: 'hello', n: 3 },
        results: options.results ?? {},
        signal: new AbortController().signal,
        logger,
        emitToken: () => undefined,
      }),
  };
}

async function failure(promise: Promise<unknown>): Promise<WeftError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(WeftError);
  return outcome as WeftError;
}

async function outcomes(): Promise<Record<string, number>> {
  const metric = await metrics.httpNodeRequestsTotal.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]));
}

function node(fields: Partial<HttpNode> & { url: string }): HttpNode {
  return { id: 'call', type: 'http', method: 'GET', ...fields };
}

describe('rendering', () => {
  const n: HttpNode = node({
    method: 'POST',
    url: 'https://api.example.com/{{input.x}}?key={{vault.TOKEN}}',
    headers: { Authorization: 'Bearer {{vault.TOKEN}}', 'X-N': '{{input.n}}' },
    body: { x: '{{input.x}}', n: '{{input.n}}', up: '{{up}}', text: 'n={{input.n}} {{vault.OTHER}}', keep: [1, null, true] },
  });
  const ctx = { input: { x: 'hello', n: 3 }, results: { up: upstream({ id: 7 }) } };

  it('lists the secrets read, and renders values for the request and placeholders for the record', () => {
    expect(httpNodeSecretNames(n)).toEqual(['TOKEN', 'OTHER']);
    const sent = renderHttpRequest(n, { ...ctx, vault: { TOKEN, OTHER } });
    expect(sent).toEqual({
      method: 'POST',
      url: `https://api.example.com/hello?key=${TOKEN}`,
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-N': '3' },
      body: { x: 'hello', n: 3, up: { id: 7 }, text: `n=3 ${OTHER}`, keep: [1, null, true] },
    });
    const record = renderHttpRequest(n, { ...ctx, vault: placeholderVault(['TOKEN', 'OTHER']) });
    expect(record).toEqual({
      method: 'POST',
      url: 'https://api.example.com/hello?key=[secret]',
      headers: { Authorization: 'Bearer [secret]', 'X-N': '3' },
      body: { x: 'hello', n: 3, up: { id: 7 }, text: 'n=3 [secret]', keep: [1, null, true] },
    });
  });

  it('serialises JSON bodies with a JSON content type unless one is set; string bodies go as they are', () => {
    expect(encodeHttpBody({ method: 'POST', url: 'u', headers: {}, body: { a: 1 } })).toEqual({ headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(encodeHttpBody({ method: 'POST', url: 'u', headers: { 'Content-Type': 'application/vnd+json' }, body: [1] })).toEqual({ headers: { 'Content-Type': 'application/vnd+json' }, body: '[1]' });
    expect(encodeHttpBody({ method: 'POST', url: 'u', headers: {}, body: 'a=1&b=2' })).toEqual({ headers: {}, body: 'a=1&b=2' });
    expect(encodeHttpBody({ method: 'POST', url: 'u', headers: {}, body: 0 })).toEqual({ headers: { 'content-type': 'application/json' }, body: '0' });
    expect(encodeHttpBody({ method: 'GET', url: 'u', headers: {} })).toEqual({ headers: {}, body: undefined });
  });
});

describe('http node: requests and what is stored', () => {
  it('sends secrets to the server only: the stored input shows [secret], echoes are redacted', async () => {
    const server = await serve(echo);
    const { run, reads } = setup({ results: { up: upstream({ id: 7 }) } });
    const outcome = await run(
      node({
        method: 'POST',
        url: `${server.origin}/items/{{up.output.id}}?key={{vault.TOKEN}}`,
        headers: { Authorization: 'Bearer {{vault.TOKEN}}', 'X-Trace': 't-{{input.x}}' },
        body: { x: '{{input.x}}', n: '{{input.n}}', other: '{{vault.OTHER}}' },
      }),
    );
    expect(reads.secrets).toEqual([['TOKEN', 'OTHER']]);
    const [received] = server.requests;
    expect(received?.method).toBe('POST');
    expect(received?.url).toBe(`/items/7?key=${TOKEN}`);
    expect(received?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(received?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received?.body ?? '')).toEqual({ x: 'hello', n: 3, other: OTHER });

    expect(outcome.resolvedInput).toEqual({
      method: 'POST',
      url: `${server.origin}/items/7?key=[secret]`,
      headers: { Authorization: 'Bearer [secret]', 'X-Trace': 't-hello' },
      body: { x: 'hello', n: 3, other: '[secret]' },
    });
    const output = outcome.output as { status: number; headers: Record<string, string>; body: Record<string, unknown> };
    expect(output.status).toBe(200);
    expect(output.headers['x-echo']).toBe('Bearer [secret]');
    expect(output.body.url).toBe('/items/7?key=[secret]');
    expect(output.body.body).toBe('{"x":"hello","n":3,"other":"[secret]"}');
    expect(outcome).toMatchObject({ usage: null, cost: null, provider: null, model: null });

    const stored = JSON.stringify([outcome, logs]);
    expect(stored).not.toContain(TOKEN);
    expect(stored).not.toContain(OTHER);
    expect(await outcomes()).toEqual({ ok: 1 });
  });

  it('parses JSON answers, keeps text answers, sends string bodies as they are, and reads no secrets when none are used', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/text') {
        res.setHeader('content-type', 'text/plain');
        res.end(`got ${req.body}`);
        return;
      }
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end('{"a":[1,2]}');
    });
    const { run, reads } = setup();
    expect((await run(node({ url: `${server.origin}/json` }))).output).toMatchObject({ status: 200, body: { a: [1, 2] } });
    const text = await run(node({ method: 'PUT', url: `${server.origin}/text`, body: 'x={{input.x}}' }));
    expect(text.output).toMatchObject({ status: 200, body: 'got x=hello' });
    expect(server.requests[1]?.headers['content-type']).toBeUndefined();
    expect(reads.secrets).toEqual([]);
    expect(reads.settings).toBe(2);
  });

  it('fails on an unresolvable reference before reading anything or sending', async () => {
    const server = await serve(echo);
    const { run, reads } = setup();
    const err = await failure(run(node({ url: `${server.origin}/{{input.missing}}` })));
    expect(err.code).toBe('TEMPLATE_MISSING_REF');
    expect(reads).toEqual({ settings: 0, secrets: [] });
    expect(server.connections()).toBe(0);
  });

  it('fails permanently, naming the secret, when a secret does not exist', async () => {
    const server = await serve(echo);
    const { run } = setup({ secrets: {} });
    const err = await failure(run(node({ url: server.origin, headers: { Authorization: '{{vault.NOPE}}' } })));
    expect(err.code).toBe('TEMPLATE_MISSING_REF');
    expect(err.category).toBe('permanent');
    expect(err.message).toContain("no secret 'NOPE'");
    expect(server.connections()).toBe(0);
  });
});

describe('http node: statuses', () => {
  it('fails 4xx permanently with the status in the message and no secret, even when echoed', async () => {
    const server = await serve((req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: `no such path ${req.url}`, auth: req.headers.authorization }));
    });
    const { run } = setup();
    const err = await failure(run(node({ url: `${server.origin}/{{vault.TOKEN}}?q=1`, headers: { Authorization: '{{vault.OTHER}}' } })));
    expect(err).toMatchObject({ code: 'HTTP_CLIENT_ERROR', category: 'permanent', retryAfterMs: undefined });
    expect(err.message).toContain('404');
    expect(err.message).toContain(`GET ${server.origin} answered 404`);
    expect(err.message).toContain('[secret]');
    expect(`${err.message}${err.stack ?? ''}${logs.join('')}`).not.toContain(TOKEN);
    expect(`${err.message}${err.stack ?? ''}${logs.join('')}`).not.toContain(OTHER);
    expect(err.cause).toBeUndefined();
    expect(await outcomes()).toEqual({ client_error: 1 });
  });

  it('fails 5xx and 429 transiently, honouring Retry-After (capped)', async () => {
    const server = await serve((req, res) => {
      const [status, retryAfter] = ({ '/503': [503, '2'], '/500': [500, undefined], '/429': [429, '86400'] } as Record<string, [number, string | undefined]>)[req.url] ?? [200, undefined];
      res.statusCode = status;
      if (retryAfter !== undefined) res.setHeader('retry-after', retryAfter);
      res.end('busy');
    });
    const { run } = setup();
    expect(await failure(run(node({ url: `${server.origin}/503` })))).toMatchObject({ code: 'HTTP_SERVER_ERROR', category: 'transient', retryAfterMs: 2000 });
    const e500 = await failure(run(node({ url: `${server.origin}/500` })));
    expect(e500).toMatchObject({ code: 'HTTP_SERVER_ERROR', category: 'transient', retryAfterMs: undefined });
    expect(e500.retryable).toBe(true);
    expect(e500.message).toContain('500: busy');
    expect(await failure(run(node({ url: `${server.origin}/429` })))).toMatchObject({ code: 'HTTP_RATE_LIMITED', category: 'transient', retryAfterMs: HTTP_MAX_RETRY_AFTER_MS });
    expect(await outcomes()).toEqual({ server_error: 2, rate_limited: 1 });
  });

  it('times out transiently after the node timeout', async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const { run } = setup();
    const err = await failure(run(node({ url: server.origin, timeoutMs: 150 })));
    expect(err).toMatchObject({ code: 'HTTP_TIMEOUT', category: 'transient' });
    expect(await outcomes()).toEqual({ timeout: 1 });
  });
});

describe('http node: the address policy', () => {
  it('refuses loopback, metadata, private addresses and names resolving to loopback unless allowed, before connecting', async () => {
    const server = await serve(echo);
    const lookup = stubLookup({ 'internal.test': ['127.0.0.1'] });
    const { run } = setup({ allowPrivate: false, deps: { httpLookup: lookup } });
    const targets = [server.origin, 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', `http://localhost:${server.port}/`, `http://internal.test:${server.port}/`, 'http://[::1]/', 'http://2130706433/'];
    for (const url of targets) {
      const err = await failure(run(node({ url, headers: { Authorization: '{{vault.TOKEN}}' } })));
      expect(err, url).toMatchObject({ code: 'HTTP_ADDRESS_BLOCKED', category: 'permanent' });
      expect(err.message, url).toContain('refused');
      expect(err.message).not.toContain(TOKEN);
    }
    expect(lookup.calls).toEqual(['internal.test']);
    expect(server.connections()).toBe(0);
    expect(tripwire.handedToSocket).toEqual([]);
    expect(await outcomes()).toEqual({ refused: targets.length });
    expect(logs.join('')).toContain('http node request refused');
  });

  it('reaches private networks when the workspace allows them, but never cloud metadata', async () => {
    const server = await serve(echo);
    const lookup = stubLookup({ 'internal.test': ['127.0.0.1'] });
    const { run } = setup({ allowPrivate: true, deps: { httpLookup: lookup } });
    expect((await run(node({ url: `http://internal.test:${server.port}/x` }))).output).toMatchObject({ status: 200 });
    const err = await failure(run(node({ url: 'http://169.254.169.254/latest/meta-data/' })));
    expect(err).toMatchObject({ code: 'HTTP_ADDRESS_BLOCKED', category: 'permanent' });
    expect(err.message).toContain('metadata');
  });

  it('refuses a redirect to a refused address', async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'http://169.254.169.254/latest/meta-data/');
      res.end();
    });
    const { run } = setup({ allowPrivate: true });
    const err = await failure(run(node({ url: server.origin })));
    expect(err).toMatchObject({ code: 'HTTP_ADDRESS_BLOCKED', category: 'permanent' });
    expect(err.message).toContain('169.254.169.254');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses other schemes coming from a reference at run time', async () => {
    const { run } = setup({ input: { url: 'ftp://files.example.com/x' } });
    const err = await failure(run(node({ url: '{{input.url}}' })));
    expect(err).toMatchObject({ code: 'HTTP_INVALID_URL', category: 'permanent' });
    expect(err.message).toContain('only http and https');
    expect(await outcomes()).toEqual({ refused: 1 });
  });
});
