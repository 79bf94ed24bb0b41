/**
 * The mock provider server: records every request, applies the faults named by the model, and
 * answers deterministically through whichever protocol matches the path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hugeAnswer, mockAnswer, mockJsonAnswer, mockUsage, promptHash, splitDeltas } from './answer.js';
import { describeFaults, parseMockFaults, type MockFaults, type MockKeyEcho } from './faults.js';
import { delay, readBody, recordableHeaders, sendJson, untilAborted } from './http-io.js';
import { MOCK_ERROR_STATUS, type MockError, type MockPrompt, type MockProtocol, type MockReply } from './protocol.js';
import { mockProtocols, routeRequest } from './protocols.js';
import type { MockLlm, MockLlmOptions, RecordedRequest } from './types.js';

/** An API key the mock always refuses with 401 (unless `apiKey` is set, then any other key is refused). */
export const MOCK_INVALID_API_KEY = 'mock-invalid-key';
/** What `mock-429` asks the client to wait. */
const RETRY_AFTER_SECONDS = 1;

interface ServerState {
  readonly options: MockLlmOptions;
  readonly protocols: readonly MockProtocol[];
  requests: RecordedRequest[];
  nextId: number;
  active: number;
  maxActive: number;
  /** Conversations already refused once by `mock-429`. */
  rateLimited: Set<string>;
  /** Called once when `active` drops to 0. */
  idleWaiters: Array<() => void>;
}

/** One request/response pair while it is being handled. */
interface Exchange {
  readonly res: ServerResponse;
  readonly record: RecordedRequest;
  /** Aborts when the connection closes, whoever closed it. */
  readonly signal: AbortSignal;
  /** Drops the connection on purpose (not recorded as a client abort). */
  drop(): void;
}

/** Shows part of a key the way OpenAI does, so error messages never carry a whole key. */
function maskKey(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 3)}****${key.slice(-4)}`;
}

/** The key as `mock-echo-key-<form>` echoes it. */
function echoedKey(key: string, form: MockKeyEcho): string {
  switch (form) {
    case 'whole':
      return key;
    case 'masked':
      return `${key.slice(0, 14)}****${key.slice(-4)}`;
    case 'url':
      return encodeURIComponent(key);
    case 'base64':
      return Buffer.from(key).toString('base64');
    case 'json':
      return JSON.stringify(key).slice(1, -1);
  }
}

function buildReply(prompt: MockPrompt): MockReply {
  const faults = parseMockFaults(prompt.model);
  const text = prompt.json && !faults.notJson ? mockJsonAnswer(prompt.model, prompt.messages) : mockAnswer(prompt.model, prompt.messages);
  if (faults.hugeBytes > 0) {
    const huge = hugeAnswer(text, faults.hugeBytes);
    const promptTokens = mockUsage(prompt.messages, '').promptTokens;
    return {
      id: `mock${promptHash(prompt.messages)}`,
      model: prompt.model,
      created: Math.floor(Date.now() / 1000),
      text: huge.text,
      deltas: huge.deltas,
      usage: { promptTokens, completionTokens: huge.completionTokens, totalTokens: promptTokens + huge.completionTokens },
      streamUsage: prompt.streamUsage,
    };
  }
  return {
    id: `mock${promptHash(prompt.messages)}`,
    model: prompt.model,
    created: Math.floor(Date.now() / 1000),
    text,
    deltas: splitDeltas(text),
    usage: mockUsage(prompt.messages, text),
    streamUsage: prompt.streamUsage,
  };
}

function sendError(ex: Exchange, args: { protocol: MockProtocol; error: MockError; headers?: Record<string, string> }): void {
  const status = MOCK_ERROR_STATUS[args.error.kind];
  ex.record.status = status;
  const retryAfter = args.error.retryAfterSeconds;
  const headers = { ...args.headers, ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }) };
  sendJson(ex.res, { status, body: args.protocol.errorBody(args.error), headers });
}

function faultError(args: { state: ServerState; protocol: MockProtocol; prompt: MockPrompt; faults: MockFaults }): MockError | null {
  const { state, protocol, prompt, faults } = args;
  switch (faults.error) {
    case null:
      return null;
    case 'rate-limited-once': {
      const key = `${protocol.provider}\n${prompt.model}\n${promptHash(prompt.messages)}`;
      if (state.rateLimited.has(key)) return null;
      state.rateLimited.add(key);
      return { kind: 'rate-limited', message: `Rate limit reached for ${prompt.model} (mock, first attempt).`, retryAfterSeconds: RETRY_AFTER_SECONDS };
    }
    case 'rate-limited':
      return { kind: 'rate-limited', message: `Rate limit reached for ${prompt.model} (mock).`, retryAfterSeconds: RETRY_AFTER_SECONDS };
    case 'server-error':
      return { kind: 'server-error', message: 'The server had an error while processing your request (mock).' };
    case 'bad-request':
      return { kind: 'bad-request', message: 'Invalid request (mock-400).' };
    case 'not-found':
      return { kind: 'not-found', message: `The model \`${prompt.model}\` does not exist or you do not have access to it.` };
  }
}

function answerJson(ex: Exchange, args: { protocol: MockProtocol; reply: MockReply; faults: MockFaults }): void {
  const { res, record } = ex;
  record.status = 200;
  if (args.faults.malformed) {
    const text = '{"id": "mock", "content": [{"text": ';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const text = JSON.stringify(args.protocol.completionBody(args.reply));
  if (!args.faults.cut) {
    sendJson(res, { status: 200, body: args.protocol.completionBody(args.reply) });
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.write(text.slice(0, Math.floor(text.length / 2)), () => { ex.drop(); });
}

async function answerStream(ex: Exchange, args: { protocol: MockProtocol; reply: MockReply; faults: MockFaults }): Promise<void> {
  const { res, record, signal } = ex;
  const { protocol, faults } = args;
  const frames = protocol.streamFrames(args.reply);
  if (faults.malformed) frames.splice(1, 0, protocol.malformedStreamFrame());
  const cutAt = faults.cut ? Math.max(1, Math.floor(frames.length / 2)) : frames.length;
  record.status = 200;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  for (const [i, frame] of frames.entries()) {
    if (i > 0 && faults.delayMs > 0 && !(await delay(faults.delayMs, signal))) return;
    if (signal.aborted) return;
    if (i === cutAt - 1 && faults.cut) {
      res.write(frame, () => { ex.drop(); });
      return;
    }
    res.write(frame);
  }
  res.end();
}

async function handle(state: ServerState, ex: Exchange, req: IncomingMessage): Promise<void> {
  const { record } = ex;
  const url = new URL(req.url ?? '/', 'http://mock.invalid');
  const read = await readBody(req);
  if (read.kind === 'aborted') return;
  if (read.kind === 'too-large') {
    record.status = 413;
    sendJson(ex.res, { status: 413, body: { error: { message: 'Request body too large (mock).', type: 'invalid_request_error' } } });
    return;
  }
  const raw = read.text;
  let body: unknown = raw;
  let isJson = raw !== '';
  try {
    body = isJson ? JSON.parse(raw) : undefined;
  } catch {
    isJson = false;
  }
  record.body = body;

  const routed = routeRequest(state.protocols, { method: record.method, pathname: url.pathname });
  if (!routed) {
    record.status = 404;
    sendJson(ex.res, { status: 404, body: { error: { message: `No mock route for ${record.method} ${url.pathname}`, type: 'invalid_request_error' } } });
    return;
  }
  const { protocol, route } = routed;
  record.provider = protocol.provider;
  const parsed = isJson
    ? protocol.parse(body, route)
    : { ok: false as const, model: route.model, message: 'We could not parse the JSON body of your request.' };
  record.model = parsed.ok ? parsed.prompt.model : parsed.model;
  record.messages = parsed.ok ? parsed.prompt.messages : null;
  record.stream = parsed.ok ? parsed.prompt.stream : (route.stream ?? false);

  const key = protocol.apiKey(req.headers);
  if (key === null) {
    sendError(ex, { protocol, error: { kind: 'unauthorized', message: "You didn't provide an API key (mock)." } });
    return;
  }
  const expected = state.options.apiKey;
  if (expected === undefined ? key === MOCK_INVALID_API_KEY : key !== expected) {
    sendError(ex, { protocol, error: { kind: 'unauthorized', message: `Incorrect API key provided: ${maskKey(key)} (mock).` } });
    return;
  }
  if (!parsed.ok) {
    sendError(ex, { protocol, error: { kind: 'bad-request', message: parsed.message } });
    return;
  }

  const prompt = parsed.prompt;
  const faults = parseMockFaults(prompt.model);
  record.faults = describeFaults(faults);
  if (faults.delayMs > 0 && !(await delay(faults.delayMs, ex.signal))) return;
  if (faults.hang) {
    await untilAborted(ex.signal);
    return;
  }
  if (faults.echoKey) {
    const echoed = echoedKey(key, faults.echoKey);
    sendError(ex, { protocol, error: { kind: 'bad-request', message: `Key ${echoed} is not enabled for ${prompt.model} (mock).` }, headers: { 'x-echo-key': echoed } });
    return;
  }
  const error = faultError({ state, protocol, prompt, faults });
  if (error) {
    sendError(ex, { protocol, error });
    return;
  }
  const reply = buildReply(prompt);
  if (prompt.stream) await answerStream(ex, { protocol, reply, faults });
  else answerJson(ex, { protocol, reply, faults });
}

function startExchange(state: ServerState, req: IncomingMessage, res: ServerResponse): Exchange {
  const record: RecordedRequest = {
    id: state.nextId++,
    provider: null,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    model: null,
    stream: false,
    headers: recordableHeaders(req.headers),
    body: undefined,
    messages: null,
    faults: [],
    receivedAt: Date.now(),
    finishedAt: null,
    status: null,
    aborted: false,
  };
  state.requests.push(record);
  state.active += 1;
  state.maxActive = Math.max(state.maxActive, state.active);
  const controller = new AbortController();
  let dropped = false;
  res.on('close', () => {
    state.active -= 1;
    record.finishedAt = Date.now();
    if (!res.writableFinished && !dropped) record.aborted = true;
    controller.abort();
    if (state.active === 0) for (const wake of state.idleWaiters.splice(0)) wake();
  });
  return {
    res,
    record,
    signal: controller.signal,
    drop() {
      dropped = true;
      res.destroy();
    },
  };
}

/** Starts the mock on `host:port` (default 127.0.0.1, a free port). */
export async function startMockLlm(options: MockLlmOptions = {}): Promise<MockLlm> {
  const host = options.host ?? '127.0.0.1';
  const state: ServerState = {
    options,
    protocols: mockProtocols,
    requests: [],
    nextId: 1,
    active: 0,
    maxActive: 0,
    rateLimited: new Set(),
    idleWaiters: [],
  };
  const server = createServer((req, res) => {
    const ex = startExchange(state, req, res);
    handle(state, ex, req).catch((err: unknown) => {
      if (res.headersSent) {
        ex.drop();
        return;
      }
      ex.record.status = 500;
      sendJson(res, { status: 500, body: { error: { message: `mock failure: ${String(err)}`, type: 'server_error' } } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const connectHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${connectHost.includes(':') ? `[${connectHost}]` : connectHost}:${port}`;

  return {
    url,
    port,
    get requests() {
      return state.requests;
    },
    get active() {
      return state.active;
    },
    get maxActive() {
      return state.maxActive;
    },
    reset() {
      state.requests.length = 0;
      state.rateLimited.clear();
      state.maxActive = state.active;
    },
    async close() {
      const closed = new Promise<void>((resolve, reject) => {
        server.close((err) => { if (err) reject(err); else resolve(); });
      });
      // Resolve only once every exchange has settled, so records are final when close() returns.
      const idle = state.active === 0 ? Promise.resolve() : new Promise<void>((resolve) => { state.idleWaiters.push(resolve); });
      server.closeAllConnections();
      await Promise.all([closed, idle]);
    },
  };
}
