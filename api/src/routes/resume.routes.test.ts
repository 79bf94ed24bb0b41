/**
 * POST /v1/resume/{token} through inject(), over real Postgres and the in-memory queue and state
 * (no worker: the test puts a node in `waiting` itself and reads the resume job the route
 * enqueued). The fleet-wide behaviour (two api instances, a worker) is in
 * test/e2e/resume-links.test.ts.
 */
import { QUEUES } from '@weft/shared/ports';
import { waitJobId } from '@weft/shared/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
let ws: { id: string; apiKey: string };
let flowId: string;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_PUBLIC_URL: 'https://public.example' } });
  ws = await t.createWorkspace('links');
  const res = await t.app.inject({
    method: 'POST', url: '/v1/flows', headers: { authorization: `Bearer ${ws.apiKey}` },
    payload: { name: 'approval', nodes: [{ id: 'approve', type: 'wait', event: 'approval' }, { id: 'other', type: 'wait', event: 'approval' }], edges: [] },
  });
  expect(res.statusCode, res.body).toBe(201);
  flowId = res.json<{ id: string }>().id;
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const links = () => t.deps.engine.resources.resumeLinks;
const post = (token: string, payload?: unknown) =>
  t.app.inject({ method: 'POST', url: `/v1/resume/${token}`, ...(payload === undefined ? {} : { payload: payload as object }) });

/** An execution whose `approve` node waits since `at` (as the worker would leave it); answers its id. */
async function waitingExecution(at: string, opts: { hot?: boolean } = {}): Promise<string> {
  const { execution } = await t.deps.database.repos.executions.create({ workspaceId: ws.id, flowId, flowVersion: 1, input: null });
  if (opts.hot === false) return execution.id;
  const state = t.deps.state;
  const nodes = [{ id: 'approve', parentCount: 0, children: [] }, { id: 'other', parentCount: 0, children: [] }];
  await state.initExecution({ executionId: execution.id, workspaceId: ws.id, flowId, flowVersion: 1, input: null, nodes, at });
  for (const nodeId of ['approve', 'other']) {
    await state.startNode({ executionId: execution.id, nodeId, attempt: 1, workerId: 'w', at, readResultsOf: [] });
    await state.waitNode({ executionId: execution.id, nodeId, at, tokenHash: null, data: { event: 'approval' } });
  }
  return execution.id;
}

function linkFor(executionId: string, at: string, extra: { nodeId?: string; expiresAtMs?: number; workspaceId?: string } = {}) {
  return links().link({
    workspaceId: extra.workspaceId ?? ws.id, executionId, nodeId: extra.nodeId ?? 'approve', waitingSince: at,
    expiresAtMs: extra.expiresAtMs ?? Date.now() + 60_000,
  });
}

describe('POST /v1/resume/{token}', () => {
  it('resumes its node once without an API key; of concurrent calls exactly one is accepted', async () => {
    const at = new Date().toISOString();
    const executionId = await waitingExecution(at);
    const link = linkFor(executionId, at);
    expect(link.url).toBe(`https://public.example/v1/resume/${link.token}`);
    // GET shows the link the worker would have published.
    const doc = await t.app.inject({ method: 'GET', url: `/v1/executions/${executionId}`, headers: { authorization: `Bearer ${ws.apiKey}` } });
    const approve = doc.json<{ nodes: Array<{ nodeId: string; resumeUrl?: string }> }>().nodes.find((n) => n.nodeId === 'approve');
    expect(approve?.resumeUrl).toBe(`https://public.example/v1/resume/${linkFor(executionId, at, { expiresAtMs: Date.parse(at) + 7 * 86_400_000 }).token}`);

    const answers = await Promise.all(Array.from({ length: 6 }, (_v, i) => post(link.token, { ok: true, i })));
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([202, 409, 409, 409, 409, 409]);
    const winner = answers.find((r) => r.statusCode === 202);
    expect(winner?.json()).toEqual({ executionId, nodeId: 'approve', status: 'resuming' });
    for (const r of answers.filter((a) => a.statusCode === 409)) expect(r.json()).toMatchObject({ error: { code: 'resume_link_used' } });
    // One resume job, with the winner's body as the wait's output.
    const job = await t.deps.queue.get(QUEUES.resume, waitJobId({ executionId, nodeId: 'approve', kind: 'event', waitingSince: at }));
    const output = (job?.data as { data?: { ok?: boolean; i?: number } } | undefined)?.data;
    expect(output?.ok).toBe(true);
    expect(typeof output?.i).toBe('number');
  });

  it('answers 404 for forged, altered and foreign links, and 410 once expired', async () => {
    const at = new Date().toISOString();
    const executionId = await waitingExecution(at);
    const { token } = linkFor(executionId, at);
    const [payload = '', sig = ''] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const retarget = `${Buffer.from(JSON.stringify({ ...claims, n: 'other' })).toString('base64url')}.${sig}`;
    const extend = `${Buffer.from(JSON.stringify({ ...claims, x: Date.now() + 1e9 })).toString('base64url')}.${sig}`;
    for (const forged of [retarget, extend, `${payload}.${sig.slice(0, -2)}xx`, 'garbage', payload]) {
      const r = await post(forged);
      expect(r.statusCode, forged).toBe(404);
      expect(r.json()).toMatchObject({ error: { code: 'resume_link_invalid', message: expect.any(String) } });
    }
    // Signed, but for an execution of another workspace id: as if it did not exist.
    expect((await post(linkFor(executionId, at, { workspaceId: '00000000-0000-7000-8000-000000000000' }).token)).statusCode).toBe(404);
    // The longest node id (a map item's, 160 characters) still fits the route.
    const longest = await post(linkFor(executionId, at, { nodeId: `${'m'.repeat(64)}[9999].${'n'.repeat(89)}` }).token);
    expect(longest.statusCode).toBe(409);
    expect(longest.json()).toMatchObject({ error: { code: 'conflict' } });
    const long = await post('x'.repeat(1025));
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ error: { code: 'invalid_request' } });

    const expired = linkFor(executionId, at, { nodeId: 'other', expiresAtMs: Date.now() - 1 });
    const late = await post(expired.token);
    expect(late.statusCode).toBe(410);
    expect(late.json()).toMatchObject({ error: { code: 'resume_link_expired' } });
    // The other node's own, valid link still works: expiry did not burn it.
    expect((await post(linkFor(executionId, at, { nodeId: 'other' }).token)).statusCode).toBe(202);
  });

  it('answers 409 conflict for a node that no longer waits in that spell, 503 while hot state is missing', async () => {
    const at = new Date().toISOString();
    const executionId = await waitingExecution(at);
    // A link of an earlier spell of the node (e.g. before a retry).
    const stale = await post(linkFor(executionId, new Date(Date.parse(at) - 1000).toISOString()).token);
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ error: { code: 'conflict' } });

    const recovering = await waitingExecution(at, { hot: false });
    const r = await post(linkFor(recovering, at).token);
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ error: { code: 'execution_state_missing' } });
    expect(r.headers['retry-after']).toBeDefined();
    // Its use was not taken: once hot state is back, it resumes.
    const state = t.deps.state;
    await state.initExecution({ executionId: recovering, workspaceId: ws.id, flowId, flowVersion: 1, input: null, nodes: [{ id: 'approve', parentCount: 0, children: [] }], at });
    await state.startNode({ executionId: recovering, nodeId: 'approve', attempt: 1, workerId: 'w', at, readResultsOf: [] });
    await state.waitNode({ executionId: recovering, nodeId: 'approve', at, tokenHash: null, data: {} });
    expect((await post(linkFor(recovering, at).token)).statusCode).toBe(202);
  });
});
