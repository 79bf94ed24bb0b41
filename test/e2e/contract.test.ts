/**
 * The contract a client relies on (issue 12, §1), on a real fleet in one process (Redis, BullMQ,
 * Postgres, a worker, the mock LLM through the openai SDK):
 * - no answer loses a field: every JSON answer the api sends is compared with what the handler
 *   built (a preSerialization hook keeps it), so a field missing from a response schema fails;
 * - listing: `status` with one or several values, `createdAfter`/`createdBefore`, unknown query
 *   parameters answer 400 (on every route);
 * - node states after fail-fast and after a cancel: `cancelled` in the document, the node runs
 *   and the events; nodes never started are `pending` or `skipped`;
 * - both cancel routes answer 202 `{executionId, status: "cancelled"}`, then 409;
 * - a flow reads back every field written (`timeoutMs`, `output`), so GET → edit → PUT keeps them;
 * - a dead letter whose node a retry completed lists `resolved`, and replaying it answers 200
 *   `resolved` (nothing re-run), not a 409;
 * - `wait: true` on a flow that waits for an approval answers 202 `waiting` with the resume link,
 *   which resumes it;
 * - a flow's inputSchema is read back, and every start checks its input against it (API start,
 *   pinned version, single-node run, webhook, schedule create and tick): 400 invalid_input with a
 *   path per problem, or a tick recorded skipped `invalid_input`;
 * - SSE after the end: an EventSource (the `eventsource` package, as a browser's) gets every event
 *   once, then its reconnect answers 204 and it stops.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { AddressInfo } from 'node:net';
import { EventSource } from 'eventsource';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_ADMIN_TOKEN, inProcessFleet, type FleetApi, type InProcessFleet } from '../helpers/in-process-fleet.js';
import { redisForSuite } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const FLEET_START_MS = 120_000;
/** A bound on waiting for an execution to reach a state: not a measurement. */
const SETTLE_MS = 30_000;
const MOCK_KEY = 'sk-contract-test';

type Body = Record<string, unknown> & { nodes?: Array<Record<string, unknown>>; items?: Array<Record<string, unknown>> };

describe('the api contract on a real fleet', () => {
  const suite = redisForSuite();
  let fleet: InProcessFleet;
  let api: FleetApi;
  let mock: MockLlm;
  let key: string;
  let baseUrl: string;
  /** Answers whose JSON differs from what the handler built: a field the response schema drops. */
  const dropped: string[] = [];
  let compared = 0;

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown): Promise<{ status: number; body: Body }> => {
    const res = await api.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
    return { status: res.statusCode, body: res.body === '' ? {} : res.json<Body>() };
  };
  const createFlow = async (flow: Record<string, unknown>): Promise<string> => {
    const res = await call('POST', '/v1/flows', flow);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const start = async (flowId: string, input: unknown = {}): Promise<string> => {
    const res = await call('POST', `/v1/flows/${flowId}/executions`, { input });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.executionId as string;
  };
  const until = async (id: string, done: (doc: Body) => boolean, what: string): Promise<Body> => waitFor(async () => {
    const res = await call('GET', `/v1/executions/${id}`);
    return res.status === 200 && done(res.body) ? res.body : undefined;
  }, { timeoutMs: SETTLE_MS, message: `execution ${id} ${what}` });
  const statusOf = (doc: Body, nodeId: string): unknown => doc.nodes?.find((n) => n.nodeId === nodeId)?.status;
  /** Event types of an ended execution, replayed over SSE from the start. */
  const eventsOf = async (id: string): Promise<Array<{ type: string; nodeId?: string }>> => {
    const res = await fetch(`${baseUrl}/v1/executions/${id}/events`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    return (await res.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { type: string; nodeId?: string });
  };

  beforeAll(async () => {
    mock = await startMockLlm({ port: 0, host: '127.0.0.1', apiKey: MOCK_KEY });
    // One-second schedules: a tick refused by the inputSchema is seen within moments.
    fleet = inProcessFleet({ redisUrl: suite.svc.redisUrl, databaseUrl: suite.svc.databaseUrl, prefix: suite.svc.prefix, env: { WEFT_SCHEDULE_MIN_INTERVAL_SECONDS: '1' } });
    api = await fleet.startApi({}, (app) => {
      app.addHook('preSerialization', (request, reply, payload, done) => {
        const built = JSON.parse(JSON.stringify(payload)) as unknown;
        const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
        (reply as unknown as { builtPayload?: unknown; builtRoute?: string }).builtPayload = built;
        (reply as unknown as { builtRoute?: string }).builtRoute = route;
        done(null, payload);
      });
      app.addHook('onSend', (_request, reply, sent, done) => {
        const r = reply as unknown as { builtPayload?: unknown; builtRoute?: string };
        if (r.builtRoute !== undefined && typeof sent === 'string') {
          compared += 1;
          if (!isDeepStrictEqual(JSON.parse(sent), r.builtPayload)) dropped.push(`${r.builtRoute} ${reply.statusCode}: built ${JSON.stringify(r.builtPayload)} sent ${sent}`);
        }
        done(null, sent);
      });
    });
    await fleet.startWorker('w1');
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    const ws = await api.app.inject({ method: 'POST', url: '/v1/workspaces', headers: { authorization: `Bearer ${FLEET_ADMIN_TOKEN}` }, payload: { name: 'contract' } });
    expect(ws.statusCode).toBe(201);
    key = ws.json<{ apiKey: string }>().apiKey;
    expect((await call('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
    expect((await call('PUT', '/v1/credentials/openai', { apiKey: MOCK_KEY, baseUrl: `${mock.url}/v1` })).status).toBe(204);
  }, FLEET_START_MS);

  afterAll(async () => {
    await fleet?.close();
    await mock?.close();
  });

  it('answers a typed execution document whose LLM node carries its usage', async () => {
    const flowId = await createFlow({ name: 'ask', nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Hello', stream: false }] });
    const id = await start(flowId);
    const doc = await until(id, (d) => d.status === 'completed', 'completes');
    const node = doc.nodes?.[0] as { usage: { totalTokens: number }; cost: unknown; pricing: unknown; provider: string };
    expect(node.usage.totalTokens).toBeGreaterThan(0);
    expect(node.provider).toBe('openai');
    expect(Object.keys(doc).sort()).toEqual(['cost', 'createdAt', 'error', 'finishedAt', 'flowId', 'flowVersion', 'id', 'input', 'nodes', 'output',
      'pricing', 'priority', 'startedAt', 'status', 'unpricedTokens', 'usage']);
    // The document reads hot state; node runs are Postgres, written by the flusher moments later.
    const run = await waitFor(async () => {
      const runs = await call('GET', `/v1/flows/${flowId}/nodes/ask/runs`);
      expect(runs.status).toBe(200);
      return runs.body.items?.[0];
    }, { timeoutMs: SETTLE_MS, message: 'the node run is flushed' });
    expect(run).toMatchObject({ executionId: id, status: 'completed', usage: { totalTokens: node.usage.totalTokens } });
  });

  it('lists by one status or several, and by creation time; unknown query parameters answer 400', async () => {
    const flowId = await createFlow({ name: 'approve', nodes: [{ id: 'gate', type: 'wait', event: 'approval' }] });
    const done = await createFlow({ name: 'quick', nodes: [{ id: 'x', type: 'transform', expression: '1 + 1' }] });
    const waiting = await start(flowId);
    await until(waiting, (d) => d.status === 'waiting', 'waits');
    const completed = await start(done);
    await until(completed, (d) => d.status === 'completed', 'completes');
    const created = async (id: string): Promise<string> => (await call('GET', `/v1/executions/${id}`)).body.createdAt as string;
    const ids = async (query: string): Promise<string[]> => {
      const res = await call('GET', `/v1/executions?limit=100&${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return (res.body.items ?? []).map((i) => i.id as string);
    };
    // The flow-scoped listing keeps other tests' executions out of the way.
    await waitFor(async () => (await ids(`flowId=${flowId}&status=waiting`)).includes(waiting) || undefined, { timeoutMs: SETTLE_MS, message: 'the waiting status is stored' });
    expect(await ids('status=waiting')).toContain(waiting);
    expect(await ids('status=waiting')).not.toContain(completed);
    const both = await ids('status=waiting,completed');
    expect(both).toEqual(expect.arrayContaining([waiting, completed]));
    expect(await ids('status=failed,cancelled')).not.toEqual(expect.arrayContaining([waiting]));
    const first = await created(waiting);
    const second = await created(completed);
    expect(await ids(`createdAfter=${encodeURIComponent(first)}`)).toContain(completed);
    expect(await ids(`createdAfter=${encodeURIComponent(first)}`)).not.toContain(waiting);
    expect(await ids(`createdBefore=${encodeURIComponent(second)}`)).toContain(waiting);
    expect(await ids(`createdBefore=${encodeURIComponent(second)}`)).not.toContain(completed);

    const bad = await call('GET', '/v1/executions?status=waiting,nope');
    expect(bad.status).toBe(400);
    for (const url of ['/v1/executions?stauts=waiting', `/v1/executions/${waiting}?verbose=1`, '/v1/flows?sort=name', '/v1/workspace?x=1', `/v1/flows/${flowId}?v=2`]) {
      const res = await call('GET', url);
      expect(res.status, url).toBe(400);
      expect((res.body.error as { code: string; details: Array<{ path: string }> }).code).toBe('invalid_request');
      expect((res.body.error as { details: Array<{ path: string }> }).details[0]?.path, url).toMatch(/^\/[a-z]+$/i);
    }
    expect((await call('POST', `/v1/executions/${waiting}/cancel`)).status).toBe(202);
  });

  /** A code node that runs until its execution ends (its call is aborted then). */
  let failFastId = '';
  const spin = { id: 'spin', type: 'code', source: 'while (true) {}', timeoutMs: 60_000 };

  it('shows cancelled and never-started nodes after fail-fast, in the document, the node runs and the events', async () => {
    // boom fails only once spin is running (after the approval), so spin is cut for sure.
    const flowId = await createFlow({
      name: 'fail-fast',
      nodes: [spin, { id: 'gate', type: 'wait', event: 'approval' }, { id: 'boom', type: 'code', source: 'throw new Error("boom")' }, { id: 'after', type: 'transform', expression: '1' }],
      edges: [{ from: 'gate', to: 'boom' }, { from: 'spin', to: 'after' }],
    });
    const id = await start(flowId);
    await until(id, (d) => statusOf(d, 'spin') === 'running' && statusOf(d, 'gate') === 'waiting', 'runs spin and waits');
    expect((await call('POST', `/v1/executions/${id}/resume`, { nodeId: 'gate' })).status).toBe(202);
    const doc = await until(id, (d) => d.status === 'failed' && statusOf(d, 'spin') === 'cancelled', 'fails and cuts spin');
    expect(statusOf(doc, 'boom')).toBe('failed');
    expect(['pending', 'skipped']).toContain(statusOf(doc, 'after'));
    const runs = await waitFor(async () => {
      const res = await call('GET', `/v1/flows/${flowId}/nodes/spin/runs`);
      return res.body.items?.[0]?.status === 'cancelled' ? res.body.items[0] : undefined;
    }, { timeoutMs: SETTLE_MS, message: 'the node run of spin is stored cancelled' });
    expect(runs).toMatchObject({ executionId: id, error: { code: 'node_cancelled' } });
    const events = await eventsOf(id);
    expect(events.map((e) => e.type)).toContain('execution.failed');
    expect(events.filter((e) => e.nodeId === 'after')).toEqual(events.filter((e) => e.nodeId === 'after' && e.type === 'node.skipped'));
    failFastId = id;
  });

  // A fail-fast asks the workers to abort the execution's running nodes (as a cancel does): the
  // cut node commits `cancelled` and its node.cancelled is published, after execution.failed.
  it('publishes node.cancelled for the node fail-fast cut, whose own commit keeps it cancelled everywhere', async () => {
    const events = await waitFor(async () => {
      const all = await eventsOf(failFastId);
      return all.some((e) => e.type === 'node.cancelled' && e.nodeId === 'spin') ? all : undefined;
    }, { timeoutMs: 10_000, message: 'node.cancelled of spin is published' });
    // Cut, not run out: no other end of spin, and it comes after the execution's.
    expect(events.filter((e) => e.nodeId === 'spin').map((e) => e.type)).toEqual(['node.started', 'node.cancelled']);
    expect(events.findIndex((e) => e.type === 'node.cancelled')).toBeGreaterThan(events.findIndex((e) => e.type === 'execution.failed'));
    // The abort's own result (written after the flusher's stand-in) still says cancelled.
    const doc = (await call('GET', `/v1/executions/${failFastId}`)).body;
    expect(doc.nodes?.find((n) => n.nodeId === 'spin')).toMatchObject({ status: 'cancelled', error: { code: 'node_cancelled' } });
    const run = await waitFor(async () => {
      const item = (await call('GET', `/v1/flows/${doc.flowId as string}/nodes/spin/runs`)).body.items?.[0];
      return (item?.error as { message?: string } | null)?.message?.includes('their execution failed') ? item : undefined;
    }, { timeoutMs: SETTLE_MS, message: 'the node run holds the aborted call\'s result' });
    expect(run).toMatchObject({ executionId: failFastId, status: 'cancelled' });
  });

  it('cancels with DELETE and POST …/cancel alike: 202 {executionId, status}, then 409; the running node ends cancelled', async () => {
    const flowId = await createFlow({ name: 'cancel', nodes: [spin, { id: 'next', type: 'transform', expression: '1' }], edges: [{ from: 'spin', to: 'next' }] });
    for (const how of ['DELETE', 'POST'] as const) {
      const id = await start(flowId);
      await until(id, (d) => statusOf(d, 'spin') === 'running', 'runs spin');
      const url = how === 'DELETE' ? `/v1/executions/${id}` : `/v1/executions/${id}/cancel`;
      const res = await call(how, url);
      expect(res.status, how).toBe(202);
      expect(res.body).toEqual({ executionId: id, status: 'cancelled' });
      const doc = await until(id, (d) => d.status === 'cancelled' && statusOf(d, 'spin') === 'cancelled', 'is cancelled');
      expect(['pending', 'skipped']).toContain(statusOf(doc, 'next'));
      const again = await call(how, url);
      expect(again.status, how).toBe(409);
      expect((again.body.error as { code: string }).code).toBe('conflict');
      const events = await eventsOf(id);
      expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'node.cancelled', nodeId: 'spin' }), expect.objectContaining({ type: 'execution.cancelled' })]));
    }
  });

  it('lists a dead letter resolved once a retry completed its node; replaying it answers 200 and re-runs nothing', async () => {
    // mock-429 refuses a conversation once: with one attempt the node fails for good, and its retry succeeds.
    const flowId = await createFlow({ name: 'flaky', nodes: [{ id: 'flaky', type: 'llm', provider: 'openai', model: 'mock-429', stream: false, prompt: `Once ${randomUUID()}`, retry: { attempts: 1 } }] });
    const id = await start(flowId);
    await until(id, (d) => d.status === 'failed', 'fails');
    const letters = async (query = ''): Promise<Array<Record<string, unknown>>> => {
      const res = await call('GET', `/v1/dead-letters?limit=100${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return (res.body.items ?? []).filter((l) => l.executionId === id);
    };
    const [letter] = await waitFor(async () => { const l = await letters(); return l.length > 0 ? l : undefined; }, { timeoutMs: SETTLE_MS, message: 'the dead letter is parked' });
    expect(letter).toMatchObject({ nodeId: 'flaky', status: 'open', resolvedAt: null });
    expect((await letters('&status=resolved'))).toEqual([]);

    const retry = await call('POST', `/v1/executions/${id}/retry`);
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    const doc = await until(id, (d) => d.status === 'completed', 'completes after its retry');
    const resolved = await letters();
    expect(resolved).toEqual([{ ...letter, status: 'resolved', resolvedAt: doc.nodes?.[0]?.finishedAt }]);
    expect(await letters('&status=open')).toEqual([]);
    expect(await letters('&status=resolved')).toEqual(resolved);

    const replay = await call('POST', `/v1/dead-letters/${encodeURIComponent(letter?.id as string)}/replay`);
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
    expect(replay.body).toEqual({ executionId: id, nodeId: 'flaky', outcome: 'resolved' });
    // Nothing ran again: the execution and its node are as the retry left them, and the letter stays resolved.
    expect((await call('GET', `/v1/executions/${id}`)).body).toEqual(doc);
    expect(await letters()).toEqual(resolved);
  });

  it('answers wait: true on a flow that waits with 202 waiting and the resume link, which resumes it', async () => {
    const flowId = await createFlow({ name: 'approval', nodes: [{ id: 'approve', type: 'wait', event: 'approval' }, { id: 'then', type: 'transform', expression: 'nodes.approve.ok' }], edges: [{ from: 'approve', to: 'then' }] });
    const res = await call('POST', `/v1/flows/${flowId}/executions`, { input: {}, wait: true, timeoutMs: SETTLE_MS });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.executionId as string;
    expect(res.body).toEqual({ executionId: id, status: 'waiting', waiting: [{ nodeId: 'approve', resumeUrl: expect.any(String), resumeUrlExpiresAt: expect.any(String) }] });
    const [waiting] = res.body.waiting as Array<{ resumeUrl: string; resumeUrlExpiresAt: string }>;
    // The same link the document shows.
    const doc = await call('GET', `/v1/executions/${id}`);
    expect(doc.body.nodes?.[0]).toMatchObject({ nodeId: 'approve', status: 'waiting', resumeUrl: waiting?.resumeUrl, resumeUrlExpiresAt: waiting?.resumeUrlExpiresAt });
    const resumed = await api.app.inject({ method: 'POST', url: new URL(waiting?.resumeUrl ?? '').pathname, payload: { ok: true } });
    expect(resumed.statusCode, resumed.body).toBe(202);
    const done = await until(id, (d) => d.status === 'completed', 'completes once resumed');
    expect(done.output).toEqual({ then: true });
    // A webhook's caller learns the status, never the approver's link.
    const hook = await call('POST', `/v1/flows/${flowId}/hooks`, { name: 'approval' });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const hooked = await api.app.inject({ method: 'POST', url: `${new URL(hook.body.url as string).pathname}?wait=true&timeoutMs=${SETTLE_MS}`, payload: {} });
    expect(hooked.statusCode, hooked.body).toBe(202);
    expect(hooked.json()).toEqual({ executionId: expect.any(String), status: 'waiting' });
    expect((await call('POST', `/v1/executions/${hooked.json<{ executionId: string }>().executionId}/cancel`)).status).toBe(202);
    // A timer ends by itself: wait: true still answers the end.
    const timed = await createFlow({ name: 'timer', nodes: [{ id: 'pause', type: 'wait', durationMs: 50 }] });
    const ended = await call('POST', `/v1/flows/${timed}/executions`, { input: {}, wait: true, timeoutMs: SETTLE_MS });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect(ended.body.status).toBe('completed');
  });

  it('reads a flow back with every field written, so GET → edit → PUT keeps them', async () => {
    const written = { name: 'round-trip', timeoutMs: 90_000, output: 'b', inputSchema: { type: 'object', properties: { n: { type: 'integer' } } }, nodes: [{ id: 'a', type: 'transform', expression: '1', timeoutMs: 5000 }, { id: 'b', type: 'transform', expression: '2' }], edges: [{ from: 'a', to: 'b' }] };
    const flowId = await createFlow(written);
    const read = await call('GET', `/v1/flows/${flowId}`);
    expect(read.body).toMatchObject(written);
    const { id: _id, version: _version, createdAt: _c, updatedAt: _u, ...editable } = read.body;
    const put = await call('PUT', `/v1/flows/${flowId}`, { ...editable, name: 'round-trip-2' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const again = await call('GET', `/v1/flows/${flowId}`);
    expect(again.body).toMatchObject({ ...written, name: 'round-trip-2', version: 2 });
  });

  it("checks every start's input against the flow's inputSchema: 400 invalid_input with each problem's path", async () => {
    const inputSchema = { type: 'object', required: ['topic'], properties: { topic: { type: 'string', minLength: 1 }, n: { type: 'integer' } }, additionalProperties: false };
    const flowId = await createFlow({ name: 'typed', inputSchema, nodes: [{ id: 'echo', type: 'transform', expression: 'input.topic' }] });
    expect((await call('GET', `/v1/flows/${flowId}`)).body.inputSchema).toEqual(inputSchema);
    const refused = async (res: { status: number; body: Body }): Promise<string[]> => {
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      const error = res.body.error as { code: string; details: Array<{ path: string; code: string }> };
      expect(error.code).toBe('invalid_input');
      expect(new Set(error.details.map((d) => d.code))).toEqual(new Set(['input_schema_mismatch']));
      return error.details.map((d) => d.path).sort();
    };
    const before = (await call('GET', `/v1/executions?flowId=${flowId}`)).body.items?.length;
    expect(await refused(await call('POST', `/v1/flows/${flowId}/executions`, {}))).toEqual(['/input']);
    expect(await refused(await call('POST', `/v1/flows/${flowId}/executions`, { input: { n: 1.5, extra: true } }))).toEqual(['/input/extra', '/input/n', '/input/topic']);
    expect(await refused(await call('POST', `/v1/flows/${flowId}/executions`, { input: { topic: '' }, version: 1 }))).toEqual(['/input/topic']);
    expect(await refused(await call('POST', `/v1/flows/${flowId}/nodes/echo/runs`, { input: { topic: 7 } }))).toEqual(['/input/topic']);
    // Nothing was recorded for a refused start.
    expect((await call('GET', `/v1/executions?flowId=${flowId}`)).body.items?.length).toBe(before);
    const ok = await start(flowId, { topic: 'durable execution' });
    expect((await until(ok, (d) => d.status === 'completed', 'completes')).output).toEqual({ echo: 'durable execution' });

    // A webhook's input is {body, headers}.
    const hook = await call('POST', `/v1/flows/${flowId}/hooks`, { name: 'typed' });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const hookPath = new URL(hook.body.url as string).pathname;
    const called = await api.app.inject({ method: 'POST', url: hookPath, payload: { topic: 'x' } });
    expect(await refused({ status: called.statusCode, body: called.json<Body>() })).toEqual(['/input/body', '/input/headers', '/input/topic']);

    // A schedule's input is checked when it is created, and at each tick (the flow may change since).
    expect(await refused(await call('POST', `/v1/flows/${flowId}/schedules`, { cron: '* * * * * *', input: { n: 'two' } }))).toEqual(['/input/n', '/input/topic']);
    const schedule = await call('POST', `/v1/flows/${flowId}/schedules`, { cron: '* * * * * *', input: { topic: 'cron' } });
    expect(schedule.status, JSON.stringify(schedule.body)).toBe(201);
    const scheduleId = schedule.body.id as string;
    const keyed = async (idempotencyKey: string): Promise<{ status: number; body: Body }> => {
      const res = await api.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers: { authorization: `Bearer ${key}`, 'idempotency-key': idempotencyKey }, payload: { input: { topic: 'keyed' } } });
      return { status: res.statusCode, body: res.json<Body>() };
    };
    const first = await keyed('typed-replay');
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const { id: _id, version: _version, createdAt: _c, updatedAt: _u, ...editable } = (await call('GET', `/v1/flows/${flowId}`)).body;
    const stricter = await call('PUT', `/v1/flows/${flowId}`, { ...editable, inputSchema: { ...inputSchema, required: ['topic', 'n'] } });
    expect(stricter.status, JSON.stringify(stricter.body)).toBe(200);
    // A replay of the key answers the execution it started, though the stricter schema now
    // refuses that input; the same input under a new key is refused.
    const replay = await keyed('typed-replay');
    expect(replay.status, JSON.stringify(replay.body)).toBe(202);
    expect(replay.body.executionId).toBe(first.body.executionId);
    expect(await refused(await keyed('typed-fresh'))).toEqual(['/input/n']);
    try {
      const skipped = await waitFor(async () => {
        const ticks = await call('GET', `/v1/schedules/${scheduleId}/ticks?limit=100`);
        return (ticks.body.items ?? []).find((t) => t.outcome === 'skipped');
      }, { timeoutMs: SETTLE_MS, message: 'a tick is skipped for its input' });
      expect(skipped).toMatchObject({ reason: 'invalid_input', executionId: null });
    } finally {
      expect((await call('DELETE', `/v1/schedules/${scheduleId}`)).status).toBe(204);
    }
  });

  it('refuses an inputSchema that could run away or reach out, at its path', async () => {
    const res = await call('POST', '/v1/flows', {
      name: 'unsafe', nodes: [{ id: 'x', type: 'transform', expression: '1' }],
      inputSchema: { type: 'object', properties: { email: { type: 'string', pattern: '^(a+)+$' }, other: { $ref: 'https://example.test/s.json' } } },
    });
    expect(res.status).toBe(400);
    const error = res.body.error as { code: string; details: Array<{ path: string; code: string }> };
    expect(error.code).toBe('invalid_flow');
    expect(error.details).toEqual([
      expect.objectContaining({ path: '/inputSchema/properties/email/pattern', code: 'flow_input_schema_keyword_refused' }),
      expect.objectContaining({ path: '/inputSchema/properties/other/$ref', code: 'flow_input_schema_keyword_refused' }),
    ]);
  });

  it('answers 204 to an EventSource reconnecting after the end, so it stops', async () => {
    const flowId = await createFlow({ name: 'sse', nodes: [{ id: 'x', type: 'transform', expression: '1' }] });
    const id = await start(flowId);
    await until(id, (d) => d.status === 'completed', 'completes');
    const url = `${baseUrl}/v1/executions/${id}/events?token=${encodeURIComponent(key)}`;
    const received: string[] = [];
    const source = new EventSource(url);
    for (const type of ['execution.queued', 'execution.started', 'node.started', 'node.completed', 'execution.completed']) {
      source.addEventListener(type, (e) => { received.push(`${e.lastEventId} ${type}`); });
    }
    try {
      // The stream ends after execution.completed; the reconnect (with Last-Event-ID) answers 204 and the source closes for good.
      await waitFor(() => source.readyState === EventSource.CLOSED || undefined, { timeoutMs: SETTLE_MS, message: 'the EventSource stops' });
    } finally {
      source.close();
    }
    expect(received.at(-1)).toMatch(/ execution\.completed$/);
    expect(new Set(received).size).toBe(received.length);
    const last = received.at(-1)?.split(' ')[0] ?? '';
    const after = await fetch(url, { headers: { 'last-event-id': last } });
    expect(after.status).toBe(204);
    const fromStart = await fetch(url);
    expect(fromStart.status).toBe(200);
    await fromStart.body?.cancel();
  });

  it('sent every field each handler built, on every answer of this file', () => {
    expect(compared).toBeGreaterThan(20);
    expect(dropped).toEqual([]);
  });
});
