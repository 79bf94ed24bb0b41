/**
 * The execution job claims its row (queued → running) before it writes hot state. A cancel that
 * lands between the two finds a running row without hot state: it records the end, and leaves
 * the ended mark that makes the job's init write nothing. Nothing of the execution runs. Real
 * Postgres and the api's cancel route; the engine's execution processor; in-memory state
 * (test-app). The state stores' mark itself is in the StateStore contract (Redis and memory).
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

describe('a cancel between the execution job\'s claim and its init', () => {
  it('wins: the job writes no hot state and runs no node', async () => {
    const ws = await t.createWorkspace('claim-cancel');
    const headers = { authorization: `Bearer ${ws.apiKey}` };
    const flow = await t.app.inject({ method: 'POST', url: '/v1/flows', headers, payload: { name: 'one', nodes: [{ id: 't', type: 'transform', expression: '1' }] } });
    const flowId = flow.json<{ id: string }>().id;
    const started = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers, payload: { input: { n: 1 } } });
    expect(started.statusCode).toBe(202);
    const executionId = started.json<{ executionId: string }>().executionId;

    const { state, events } = t.deps.engine.resources;
    const init = state.initExecution.bind(state);
    const cancels: number[] = [];
    state.initExecution = async (input) => {
      // The job has claimed the row: the cancel sees it running, with no hot state yet.
      expect((await t.deps.database.repos.executions.getById(executionId))?.status).toBe('running');
      const cancel = await t.app.inject({ method: 'POST', url: `/v1/executions/${executionId}/cancel`, headers });
      cancels.push(cancel.statusCode);
      return init(input);
    };
    const ran: string[] = [];
    const runNode: NodeRunner = (ctx) => {
      ran.push(ctx.node.id);
      return Promise.resolve({ output: 1, resolvedInput: null, usage: null, cost: null, provider: null, model: null });
    };
    try {
      const { executions } = t.deps.engine.processors({ runNode, workerId: 'w', running: new RunningJobs(), expressions: { evaluate: () => Promise.resolve(1) } });
      await executions({
        id: executionId, name: 'execution', queue: QUEUES.executions, attempt: 1, maxAttempts: 3, signal: new AbortController().signal,
        data: { executionId, workspaceId: ws.id },
      });
    } finally {
      state.initExecution = init;
    }
    expect(cancels).toEqual([202]);
    expect(ran).toEqual([]);
    expect(await state.getExecution(executionId)).toBeNull();
    expect((await events.replay(executionId)).map((e) => e.type)).not.toContain('execution.started');
    const view = await t.app.inject({ method: 'GET', url: `/v1/executions/${executionId}`, headers });
    expect(view.json()).toMatchObject({ id: executionId, status: 'cancelled' });
  });
});
