import type { NodeRunRow } from '@weft/db/repos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
let mine: { id: string; apiKey: string };
let theirs: { id: string; apiKey: string };

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
  mine = await t.createWorkspace('node runs');
  theirs = await t.createWorkspace('other');
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** c reads a and b through its templates. */
const FAN_IN = {
  name: 'fan-in',
  nodes: [
    { id: 'a', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'first' },
    { id: 'b', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'second' },
    { id: 'c', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: '{{a}} and {{b.output}}' },
  ],
  edges: [{ from: 'a', to: 'c' }, { from: 'b', to: 'c' }],
};

async function createFlow(): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/flows', headers: auth(mine.apiKey), payload: FAN_IN });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

/** Stores a run of `nodeId` in an execution of its own, as the flusher would. */
async function storeRun(input: { flowId: string; nodeId: string; output: string; finishedAt: string; status?: NodeRunRow['status'] }): Promise<string> {
  const { repos } = t.deps.database;
  const { execution } = await repos.executions.create({ workspaceId: mine.id, flowId: input.flowId, flowVersion: 1, input: null });
  const finishedAt = new Date(input.finishedAt);
  await repos.nodeRuns.upsertMany([{
    executionId: execution.id, workspaceId: mine.id, flowId: input.flowId, nodeId: input.nodeId, iteration: 0, nodeType: 'llm',
    status: input.status ?? 'completed', attempts: 1, input: { prompt: 'p' }, output: input.output,
    error: input.status === 'failed' ? { code: 'llm_server_error', category: 'transient', message: 'boom' } : null,
    usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3, reasoningTokens: 0, cachedTokens: 0 }, cost: null, provider: 'openai', model: 'gpt-4o-mini', workerId: 'w1',
    startedAt: new Date(finishedAt.getTime() - 100), finishedAt, runtimeMs: 100,
  }]);
  return execution.id;
}

describe('POST /v1/flows/:id/nodes/:nodeId/runs', () => {
  it('answers 409 naming every upstream node that never completed', async () => {
    const flowId = await createFlow();
    await storeRun({ flowId, nodeId: 'b', output: 'failed b', finishedAt: '2025-01-01T00:00:00Z', status: 'failed' });
    const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/nodes/c/runs`, headers: auth(mine.apiKey), payload: {} });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error.details).toEqual([
      { path: '/nodes/a', message: 'never completed' },
      { path: '/nodes/b', message: 'never completed' },
    ]);
  });

  it('queues an execution of the node alone, preset with the newest completed upstream results', async () => {
    const flowId = await createFlow();
    await storeRun({ flowId, nodeId: 'a', output: 'old a', finishedAt: '2025-01-01T00:00:00Z' });
    await storeRun({ flowId, nodeId: 'a', output: 'new a', finishedAt: '2025-01-02T00:00:00Z' });
    await storeRun({ flowId, nodeId: 'a', output: 'failed a', finishedAt: '2025-01-03T00:00:00Z', status: 'failed' });
    await storeRun({ flowId, nodeId: 'b', output: 'only b', finishedAt: '2025-01-01T00:00:00Z' });
    const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/nodes/c/runs`, headers: auth(mine.apiKey), payload: { input: { x: 1 } } });
    expect(res.statusCode, res.body).toBe(202);
    const { executionId, status } = res.json<{ executionId: string; status: string }>();
    expect(status).toBe('queued');
    const row = await t.deps.database.repos.executions.getById(executionId);
    expect(row).toMatchObject({ singleNodeId: 'c', input: { x: 1 }, flowVersion: 1 });
    expect(row?.presetResults?.a).toMatchObject({ status: 'completed', output: 'new a', provider: 'openai', finishedAt: '2025-01-02T00:00:00.000Z' });
    expect(row?.presetResults?.b?.output).toBe('only b');
    expect(Object.keys(row?.presetResults ?? {}).sort()).toEqual(['a', 'b']);
  });

  it('answers 404 for an unknown node or another workspace\'s flow', async () => {
    const flowId = await createFlow();
    expect((await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/nodes/zz/runs`, headers: auth(mine.apiKey), payload: {} })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/nodes/a/runs`, headers: auth(theirs.apiKey), payload: {} })).statusCode).toBe(404);
  });
});

describe('GET /v1/flows/:id/nodes/:nodeId/runs', () => {
  it("lists the node's runs newest first, up to limit", async () => {
    const flowId = await createFlow();
    const older = await storeRun({ flowId, nodeId: 'a', output: 'old', finishedAt: '2025-01-01T00:00:00Z' });
    const newer = await storeRun({ flowId, nodeId: 'a', output: 'new', finishedAt: '2025-01-02T00:00:00Z', status: 'failed' });
    await storeRun({ flowId, nodeId: 'b', output: 'other node', finishedAt: '2025-01-03T00:00:00Z' });
    const res = await t.app.inject({ method: 'GET', url: `/v1/flows/${flowId}/nodes/a/runs`, headers: auth(mine.apiKey) });
    expect(res.statusCode, res.body).toBe(200);
    const { items } = res.json<{ items: Array<Record<string, unknown>> }>();
    expect(items.map((i) => i.executionId)).toEqual([newer, older]);
    expect(items[0]).toEqual({
      executionId: newer, status: 'failed', attempts: 1, provider: 'openai', model: 'gpt-4o-mini',
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3, reasoningTokens: 0, cachedTokens: 0 }, cost: null, pricing: null, pricedAs: null,
      startedAt: '2025-01-01T23:59:59.900Z', finishedAt: '2025-01-02T00:00:00.000Z', runtimeMs: 100,
      error: { code: 'llm_server_error', category: 'transient', message: 'boom' }, logs: null, nodeId: 'a', iteration: 0,
    });
    const one = await t.app.inject({ method: 'GET', url: `/v1/flows/${flowId}/nodes/a/runs?limit=1`, headers: auth(mine.apiKey) });
    expect(one.json<{ items: unknown[] }>().items).toHaveLength(1);
    expect((await t.app.inject({ method: 'GET', url: `/v1/flows/${flowId}/nodes/a/runs?limit=101`, headers: auth(mine.apiKey) })).statusCode).toBe(400);
  });

  it("answers 404 for an unknown node or another workspace's flow", async () => {
    const flowId = await createFlow();
    expect((await t.app.inject({ method: 'GET', url: `/v1/flows/${flowId}/nodes/zz/runs`, headers: auth(mine.apiKey) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/v1/flows/${flowId}/nodes/a/runs`, headers: auth(theirs.apiKey) })).statusCode).toBe(404);
  });
});
