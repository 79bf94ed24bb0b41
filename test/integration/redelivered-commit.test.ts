/**
 * A node job that runs again after its commit ended the execution, because what followed the
 * commit failed (Redis went away before the flush append): the redelivery appends the
 * execution's end again, so that Postgres gets it. Real Postgres, the engine's node processor,
 * in-memory state and flush log (test-app).
 */
import { RunningJobs } from '@weft/shared/run-engine';
import { QUEUES, type NodeRunner } from '@weft/shared/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

let services: TestServices;
let t: TestApp;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

describe('a redelivered node job whose commit ended the execution', () => {
  it('appends the execution\'s end to the flush log again', async () => {
    const ws = await t.createWorkspace('redelivered');
    const flow = await t.app.inject({
      method: 'POST', url: '/v1/flows', headers: { authorization: `Bearer ${ws.apiKey}` },
      payload: { name: 'one', nodes: [{ id: 't', type: 'transform', expression: '1' }] },
    });
    const flowId = flow.json<{ id: string }>().id;
    const { execution } = await t.deps.database.repos.executions.create({ workspaceId: ws.id, flowId, flowVersion: 1, input: null });
    const at = new Date().toISOString();
    const { state, flushLog } = t.deps.engine.resources;
    // The first delivery committed the node (which ended the execution), then lost its flush append.
    await state.initExecution({ executionId: execution.id, workspaceId: ws.id, flowId, flowVersion: 1, input: null, at, nodes: [{ id: 't', parentCount: 0, children: [] }] });
    await state.startNode({ executionId: execution.id, nodeId: 't', attempt: 1, workerId: 'w', at, readResultsOf: [] });
    const result = { status: 'completed' as const, output: 1, error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: 'w', startedAt: at, finishedAt: at, runtimeMs: 1 };
    expect((await state.commitNode({ executionId: execution.id, nodeId: 't', result, takenChildren: [], failExecution: false, soft: false, at })).finished).toBe(true);

    const runNode: NodeRunner = () => Promise.reject(new Error('a committed node never runs again'));
    const { nodes } = t.deps.engine.processors({ runNode, workerId: 'w', running: new RunningJobs(), expressions: { evaluate: () => Promise.reject(new Error('unused')) } });
    await nodes({
      id: `${execution.id}.t`, name: 'node', queue: QUEUES.nodes, attempt: 2, maxAttempts: 3, signal: new AbortController().signal,
      data: { executionId: execution.id, workspaceId: ws.id, flowId, flowVersion: 1, nodeId: 't' },
    });
    const entries = await flushLog.read('test', 100, 0);
    expect(entries.map((e) => e.entry)).toContainEqual({ kind: 'execution', executionId: execution.id });
  });
});
