/**
 * POST /v1/executions/{id}/cancel through inject(), over real Postgres and the in-memory queue and
 * state (no worker: the test leaves hot state as the execution job would). The fleet-wide cancel
 * (a running call aborted on another worker) is in test/e2e/control-scenarios.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
let ws: { id: string; apiKey: string };
let flowId: string;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
  ws = await t.createWorkspace('cancel');
  const res = await t.app.inject({
    method: 'POST', url: '/v1/flows', headers: { authorization: `Bearer ${ws.apiKey}` },
    payload: { name: 'park', nodes: [{ id: 'approve', type: 'wait', event: 'approval' }], edges: [] },
  });
  expect(res.statusCode, res.body).toBe(201);
  flowId = res.json<{ id: string }>().id;
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const cancel = (executionId: string) =>
  t.app.inject({ method: 'POST', url: `/v1/executions/${executionId}/cancel`, headers: { authorization: `Bearer ${ws.apiKey}` } });

describe('POST /v1/executions/{id}/cancel', () => {
  it('answers 202 when the execution job honoured this cancel as it started the execution', async () => {
    // The race: the record is still queued when the cancel reads it, and the execution job,
    // which had just written hot state, saw the cancel's record and cancelled that hot state.
    const { execution } = await t.deps.database.repos.executions.create({ workspaceId: ws.id, flowId, flowVersion: 1, input: null });
    const at = new Date().toISOString();
    await t.deps.state.initExecution({
      executionId: execution.id, workspaceId: ws.id, flowId, flowVersion: 1, input: null, at,
      nodes: [{ id: 'approve', parentCount: 0, children: [] }],
    });
    expect((await t.deps.state.cancelExecution({ executionId: execution.id, at })).kind).toBe('cancelled');

    const res = await cancel(execution.id);
    expect(res.statusCode, res.body).toBe(202);
    expect((await t.deps.database.repos.executions.getById(execution.id))?.status).toBe('cancelled');
    // The execution is cancelled now: a second cancel is refused.
    const again = await cancel(execution.id);
    expect(again.statusCode).toBe(409);
    expect(again.json<{ error: { code: string } }>().error.code).toBe('conflict');
  });

  it('answers 409 when hot state ended the execution before the record shows it', async () => {
    const { execution } = await t.deps.database.repos.executions.create({ workspaceId: ws.id, flowId, flowVersion: 1, input: null });
    const at = new Date().toISOString();
    await t.deps.state.initExecution({
      executionId: execution.id, workspaceId: ws.id, flowId, flowVersion: 1, input: null, at,
      nodes: [{ id: 'approve', parentCount: 0, children: [] }],
    });
    await t.deps.database.repos.executions.claimQueued({ executionId: execution.id, startedAt: new Date(at) });
    // Another request cancelled it; the flusher has not written its end yet.
    expect((await t.deps.state.cancelExecution({ executionId: execution.id, at })).kind).toBe('cancelled');

    const res = await cancel(execution.id);
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('conflict');
  });
});
