/**
 * The engine's job processors over real Postgres and the api's routes, in-memory state and flush
 * log (test-app); what the state stores do is in the StateStore contract (Redis and memory).
 * The execution job:
 * - It claims its row (queued → running) before it writes hot state. A cancel that lands between
 *   the two finds a running row without hot state: it records the end, and leaves the ended mark
 *   that makes the job's init write nothing. Nothing of the execution runs.
 * - Its init starts the first root, which the job then runs at once: no start of its own.
 * A node job that runs again after its commit ended the execution, because what followed the
 * commit failed (Redis went away before the flush append): the redelivery appends the
 * execution's end again, so that Postgres gets it.
 */
import { nodeJobIdOf, type ExecutionJobData } from '@weft/shared/jobs';
import { WeftError } from '@weft/shared/errors';
import { RunningJobs } from '@weft/shared/run-engine';
import { JobSlots, QUEUES, nodeQueueFor, type NodeRunner, type StateStore } from '@weft/shared/ports';
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

async function startOne(name: string, nodes: object[], edges: object[] = []): Promise<{ ws: { id: string; apiKey: string }; headers: Record<string, string>; executionId: string }> {
  const ws = await t.createWorkspace(name);
  const headers = { authorization: `Bearer ${ws.apiKey}` };
  const flow = await t.app.inject({ method: 'POST', url: '/v1/flows', headers, payload: { name, nodes, edges } });
  const flowId = flow.json<{ id: string }>().id;
  const started = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/executions`, headers, payload: { input: { n: 1 } } });
  expect(started.statusCode).toBe(202);
  return { ws, headers, executionId: started.json<{ executionId: string }>().executionId };
}

describe('the first root of an execution', () => {
  it.each([
    ['with the row\'s start carried by the job, as the api enqueues it', true],
    ['with the row read first (a job without it, as the recovery sweep enqueues it)', false],
  ])('is started by the init and run by the execution job at once, %s', async (_what, carried) => {
    const { ws, executionId } = await startOne(`root-start-${String(carried)}`, [
      { id: 'a', type: 'transform', expression: 'input.n' },
      { id: 'b', type: 'transform', expression: '2' },
    ]);
    const { state, events, queue } = t.deps.engine.resources;
    const enqueued = (await queue.get(QUEUES.executions, executionId))?.data as ExecutionJobData | undefined;
    expect(enqueued?.start).toMatchObject({ input: { n: 1 }, flowVersion: 1, priority: 'normal' });
    const startNode = state.startNode.bind(state);
    const separateStarts: string[] = [];
    state.startNode = (input: Parameters<StateStore['startNode']>[0]) => {
      separateStarts.push(input.nodeId);
      return startNode(input);
    };
    const ran: string[] = [];
    const runNode: NodeRunner = (ctx) => {
      ran.push(ctx.node.id);
      return Promise.resolve({ output: ctx.input, resolvedInput: null, usage: null, cost: null, provider: null, model: null });
    };
    try {
      const eagerDispatch = { enabled: true, slots: new JobSlots(4) };
      const { executions } = t.deps.engine.processors({ runNode, workerId: 'w', running: new RunningJobs(), expressions: { evaluate: () => Promise.resolve(1) }, eagerDispatch });
      await executions({
        id: executionId, name: 'execution', queue: QUEUES.executions, attempt: 1, maxAttempts: 3, signal: new AbortController().signal,
        data: carried && enqueued ? enqueued : { executionId, workspaceId: ws.id },
      });
      expect(eagerDispatch.slots.inUse).toBe(0);
    } finally {
      state.startNode = startNode;
    }
    expect(ran).toEqual(['a']);
    expect(separateStarts).toEqual([]);
    const seen = (await events.replay(executionId)).map((e) => `${e.type}${e.nodeId ? `:${e.nodeId}` : ''}`);
    expect(seen.slice(0, 3)).toEqual(['execution.queued', 'execution.started', 'node.started:a']);
    expect(seen).toContain('node.completed:a');
    // The other root went to its queue.
    const jobOf = (nodeId: string) => queue.get(nodeQueueFor('transform'), nodeJobIdOf({ executionId, nodeId }));
    expect((await jobOf('b'))?.data).toMatchObject({ executionId, nodeId: 'b' });
    expect(await jobOf('a')).toBeNull();
    const hot = await state.getExecution(executionId);
    expect(hot?.nodes.a).toMatchObject({ status: 'completed', result: { output: { n: 1 }, attempts: 1 } });
  });
});

describe('a cancel recorded before the execution job ran, whose end of hot state never ran (its api went away)', () => {
  it('is honoured by a job that wrote hot state beside its claim: that hot state is ended, nothing runs', async () => {
    const { executionId } = await startOne('cancel-recorded', [{ id: 't', type: 'transform', expression: '1' }]);
    const { state, events, queue, flushLog } = t.deps.engine.resources;
    const enqueued = (await queue.get(QUEUES.executions, executionId))?.data as ExecutionJobData;
    expect(enqueued.start).toBeDefined();
    await t.deps.database.repos.executions.finalize({ executionId, status: 'cancelled', output: null, error: null, usage: null, cost: null, startedAt: null, finishedAt: new Date() });
    const ran: string[] = [];
    const runNode: NodeRunner = (ctx) => {
      ran.push(ctx.node.id);
      return Promise.resolve({ output: 1, resolvedInput: null, usage: null, cost: null, provider: null, model: null });
    };
    const eagerDispatch = { enabled: true, slots: new JobSlots(4) };
    const { executions } = t.deps.engine.processors({ runNode, workerId: 'w', running: new RunningJobs(), expressions: { evaluate: () => Promise.resolve(1) }, eagerDispatch });
    await executions({ id: executionId, name: 'execution', queue: QUEUES.executions, attempt: 1, maxAttempts: 3, signal: new AbortController().signal, data: enqueued });
    expect(ran).toEqual([]);
    expect(eagerDispatch.slots.inUse).toBe(0);
    expect((await state.getExecution(executionId))?.status).toBe('cancelled');
    expect((await events.replay(executionId)).map((e) => e.type)).toContain('execution.cancelled');
    const flushed = await flushLog.read('execution-job-test', 1000, 0);
    expect(flushed.map((e) => e.entry)).toContainEqual({ kind: 'execution', executionId });
  });
});

describe('a cancel between the execution job\'s claim and its init', () => {
  it('wins: the job writes no hot state and runs no node', async () => {
    const { ws, headers, executionId } = await startOne('claim-cancel', [{ id: 't', type: 'transform', expression: '1' }]);

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

describe('a fused run: a chain of transforms after the first root', () => {
  type Call = Parameters<StateStore['commitNodes']>[0];
  /** `failing`: the node whose runs fail, with what, and how many times (all when absent). */
  async function runChain(name: string, failing: { node: string; error: WeftError; times?: number } | null): Promise<{ executionId: string; ran: string[]; commits: string[][] }> {
    const chain = ['a', 'b', 'c', 'd'];
    const { ws, executionId } = await startOne(name, chain.map((id) => ({ id, type: 'transform', expression: 'input.n' })), chain.slice(1).map((to, i) => ({ from: chain[i], to })));
    const { state, queue } = t.deps.engine.resources;
    const enqueued = (await queue.get(QUEUES.executions, executionId))?.data as ExecutionJobData;
    const commitNodes = state.commitNodes.bind(state);
    const commits: string[][] = [];
    state.commitNodes = (inputs: Call) => {
      if (inputs[0]?.executionId === executionId) commits.push(inputs.map((i) => i.nodeId));
      return commitNodes(inputs);
    };
    const ran: string[] = [];
    const runNode: NodeRunner = (ctx) => {
      ran.push(ctx.node.id);
      const fails = failing && ctx.node.id === failing.node && ran.filter((id) => id === failing.node).length <= (failing.times ?? Infinity);
      if (fails) return Promise.reject(failing.error);
      return Promise.resolve({ output: { from: ctx.node.id, read: Object.keys(ctx.results) }, resolvedInput: null, usage: null, cost: null, provider: null, model: null });
    };
    try {
      const eagerDispatch = { enabled: true, slots: new JobSlots(4) };
      const { executions } = t.deps.engine.processors({ runNode, workerId: 'w', running: new RunningJobs(), expressions: { evaluate: () => Promise.resolve(1) }, eagerDispatch });
      await executions({ id: executionId, name: 'execution', queue: QUEUES.executions, attempt: 1, maxAttempts: 3, signal: new AbortController().signal, data: { ...enqueued, workspaceId: ws.id } });
      expect(eagerDispatch.slots.inUse).toBe(0);
    } finally {
      state.commitNodes = commitNodes;
    }
    return { executionId, ran, commits };
  }

  it('runs each node once, in memory, and commits them all in one step, each with its own events and flush entry', async () => {
    const { executionId, ran, commits } = await runChain('fused-chain', null);
    const { state, events, flushLog } = t.deps.engine.resources;
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    expect(commits).toEqual([['a', 'b', 'c', 'd']]);
    const seen = (await events.replay(executionId)).map((e) => `${e.type}${e.nodeId ? `:${e.nodeId}` : ''}`);
    expect(seen.slice(2)).toEqual([
      'node.started:a', 'node.completed:a', 'node.started:b', 'node.completed:b', 'node.started:c', 'node.completed:c',
      'node.started:d', 'node.completed:d', 'execution.completed',
    ]);
    const hot = await state.getExecution(executionId);
    expect(hot?.status).toBe('completed');
    // Each node read the results it reads (its ancestors'), as a node started from hot state would.
    expect(hot?.nodes.c?.result).toMatchObject({ status: 'completed', attempts: 1, output: { from: 'c' } });
    expect(new Set((hot?.nodes.d?.result?.output as { read: string[] }).read)).toEqual(new Set(['a', 'b', 'c']));
    const flushed = (await flushLog.read('fused-run-test', 1000, 0)).map((r) => r.entry).filter((e) => e.executionId === executionId);
    expect(flushed.filter((e) => e.kind === 'node').map((e) => (e.kind === 'node' ? e.nodeId : ''))).toEqual(['a', 'b', 'c', 'd']);
    // Times run forward along the chain.
    const starts = ['a', 'b', 'c', 'd'].map((id) => Date.parse(hot?.nodes[id]?.result?.startedAt ?? ''));
    expect([...starts].sort((x, y) => x - y)).toEqual(starts);
  });

  it('commits a fused child that failed for good with its run, once, as it would be alone', async () => {
    const { executionId, ran, commits } = await runChain('fused-chain-failing', { node: 'c', error: new WeftError('TRANSFORM_FAILED', 'node c failed') });
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(commits).toEqual([['a', 'b', 'c']]);
    const hot = await t.deps.engine.resources.state.getExecution(executionId);
    expect(hot?.status).toBe('failed');
    expect(hot?.nodes.c?.result).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'transform_failed' } });
    // The failure ended the execution (fail-fast): d never ran.
    expect(hot?.nodes.d?.result ?? null).toBeNull();
  });

  it('drops a fused child whose attempt would run again: it runs as the eager child of the run\'s last node', async () => {
    // A dependency outage: re-delayed, never committed. The next run of c succeeds, and d fuses with it.
    const { executionId, ran, commits } = await runChain('fused-chain-redelayed', { node: 'c', error: new WeftError('DEPENDENCY_UNAVAILABLE', 'redis went away'), times: 1 });
    expect(ran).toEqual(['a', 'b', 'c', 'c', 'd']);
    expect(commits).toEqual([['a', 'b'], ['c', 'd']]);
    const hot = await t.deps.engine.resources.state.getExecution(executionId);
    expect(hot?.status).toBe('completed');
    expect(hot?.nodes.c?.result).toMatchObject({ status: 'completed', attempts: 1 });
  });
});
