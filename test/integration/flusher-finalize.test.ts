/**
 * The flusher's finalize on a real Postgres: the rows the flush log already wrote are not
 * written again; what Postgres lacks (a node skipped inside a transition, a flush entry lost in
 * a crash) or holds differently is. A retry racing the flush of the end it retried leaves the
 * execution running, and the api's view says so even while the row holds that stale end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@weft/db/database';
import type { WeftDatabase } from '@weft/db/repos';
import { MemoryEventBus, MemoryFlushLog, MemoryStateStore } from '@weft/shared/adapters/memory';
import type { NodeResult } from '@weft/shared/model';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { FlowCache } from '../../shared/src/run-engine/index.js';
import { Flusher } from '../../worker/src/flush/flusher.js';
import { loadExecutionView } from '../../api/src/services/execution-view.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const AT = '2025-01-01T00:00:00.000Z';

function completed(output: unknown, finishedAt = AT): NodeResult {
  return {
    status: 'completed', output, error: null, usage: null, cost: null, attempts: 1, input: null,
    provider: null, model: null, workerId: 'w1', startedAt: AT, finishedAt, runtimeMs: 1,
  };
}

let svc: TestServices;
let database: WeftDatabase;
beforeAll(async () => {
  svc = await createTestServices();
  database = await createDatabase({ url: svc.databaseUrl, masterKey: randomBytes(32), poolSize: 3 });
  await database.migrate();
});
afterAll(async () => {
  await database?.close();
  await svc?.cleanup();
});

describe('Flusher finalize', () => {
  it('writes only the node rows Postgres lacks or holds differently', async () => {
    const { repos } = database;
    const { workspace } = await repos.workspaces.create({ name: 'flush' });
    const flow = await repos.flows.create({
      workspaceId: workspace.id,
      flow: {
        name: 'abc',
        nodes: [{ id: 'a', type: 'transform', expression: '1' }, { id: 'b', type: 'transform', expression: '2' }, { id: 'c', type: 'transform', expression: '3' }],
        edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
      },
    });
    const { execution } = await repos.executions.create({ workspaceId: workspace.id, flowId: flow.id, flowVersion: flow.version, input: null });
    const events = new MemoryEventBus();
    const state = new MemoryStateStore({ events });
    const metrics = createMetrics();
    const flusher = new Flusher({
      state, flushLog: new MemoryFlushLog(), repos, flows: new FlowCache(repos.flows), logger: createLogger({ level: 'silent', name: 'test' }), metrics,
      consumer: 'c1', hotStateTtlSeconds: 60,
    });
    const executionId = execution.id;
    await state.initExecution({
      executionId, workspaceId: workspace.id, flowId: flow.id, flowVersion: flow.version, input: null, at: AT,
      nodes: [{ id: 'a', parentCount: 0, children: ['b'] }, { id: 'b', parentCount: 1, children: ['c'] }, { id: 'c', parentCount: 1, children: [] }],
    });
    const base = { kind: 'node' as const, executionId, workspaceId: workspace.id, flowId: flow.id, nodeType: 'transform' };
    // a and b reach Postgres through the log; b later holds a newer result in hot state (it
    // ran again); c's log entry was lost.
    for (const [nodeId, takes] of [['a', ['b']], ['b', ['c']], ['c', []]] as const) {
      await state.commitNode({ executionId, nodeId, result: completed(nodeId, nodeId === 'b' ? '2025-01-01T00:00:05.000Z' : AT), takenChildren: [...takes], failExecution: false, soft: false, at: AT });
    }
    await flusher.write([
      { id: '1-0', entry: { ...base, nodeId: 'a', result: completed('a') } },
      { id: '1-1', entry: { ...base, nodeId: 'b', result: completed('b-first') } },
      { id: '1-2', entry: { kind: 'execution', executionId } },
    ]);
    const counted = async (): Promise<number> => (await metrics.flushRowsTotal.get()).values.find((v) => v.labels.kind === 'node_run')?.value ?? 0;
    // a and b from the log (2), then finalize: b (different) and c (missing), not a.
    expect(await counted()).toBe(4);
    const rows = new Map((await repos.nodeRuns.listByExecution(executionId)).map((r) => [r.nodeId, r]));
    expect([...rows.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(rows.get('b')?.output).toBe('b');
    expect(rows.get('c')?.output).toBe('c');
    expect((await repos.executions.getById(executionId))?.status).toBe('completed');

    // Finalizing again (a redelivered entry) writes no node row.
    await flusher.write([{ id: '2-0', entry: { kind: 'execution', executionId } }]);
    expect(await counted()).toBe(4);
    await state.close();
  });

  /** A one-node flow's execution whose node failed it, in Postgres and in memory hot state. */
  async function failedOneNodeExecution(name: string): Promise<{ executionId: string; workspaceId: string; state: MemoryStateStore }> {
    const { repos } = database;
    const { workspace } = await repos.workspaces.create({ name });
    const flow = await repos.flows.create({ workspaceId: workspace.id, flow: { name: 'one', nodes: [{ id: 'a', type: 'transform', expression: '1' }], edges: [] } });
    const { execution } = await repos.executions.create({ workspaceId: workspace.id, flowId: flow.id, flowVersion: flow.version, input: null });
    const executionId = execution.id;
    const state = new MemoryStateStore({ events: new MemoryEventBus() });
    await state.initExecution({ executionId, workspaceId: workspace.id, flowId: flow.id, flowVersion: flow.version, input: null, at: AT, nodes: [{ id: 'a', parentCount: 0, children: [] }] });
    const failed: NodeResult = { ...completed(null), status: 'failed', error: { code: 'transform_failed', category: 'permanent', message: 'x' } };
    await state.commitNode({ executionId, nodeId: 'a', result: failed, takenChildren: [], failExecution: true, soft: false, at: AT });
    return { executionId, workspaceId: workspace.id, state };
  }

  it('leaves an execution a retry re-opened running, in Postgres and in hot state', async () => {
    const { repos } = database;
    const { executionId, state } = await failedOneNodeExecution('race');
    const flusher = new Flusher({
      state, flushLog: new MemoryFlushLog(), repos, flows: new FlowCache(repos.flows), logger: createLogger({ level: 'silent', name: 'test' }), metrics: createMetrics(),
      consumer: 'c1', hotStateTtlSeconds: 0,
    });
    // The retry lands before the flusher gets to the end of the first run.
    await state.reopenNodes({ executionId, nodeIds: ['a'], at: AT });
    await repos.executions.reopen({ executionId });
    await flusher.write([{ id: '1-0', entry: { kind: 'execution', executionId } }]);
    expect((await repos.executions.getById(executionId))?.status).toBe('running');
    // A TTL of 0 would have deleted it at once: hot state is still there.
    expect((await state.getExecution(executionId))?.status).toBe('running');
    await state.close();
  });

  it('the view says running while a flush writes the end a retry re-opened: hot state is the truth', async () => {
    const { repos } = database;
    const { executionId, workspaceId, state } = await failedOneNodeExecution('stale-end');
    const view = () => loadExecutionView({ repos, state, workspaceId, executionId });
    // The flusher read the failed end; the retry re-opens hot state and the row; then the
    // flusher writes the end it read (it puts the row back to running only after that write).
    await state.reopenNodes({ executionId, nodeIds: ['a'], at: AT });
    await repos.executions.reopen({ executionId });
    await repos.executions.finalize({
      executionId, status: 'failed', output: null, error: { code: 'transform_failed', category: 'permanent', message: 'x', nodeId: 'a' },
      usage: null, cost: null, startedAt: new Date(AT), finishedAt: new Date(AT),
    });
    expect((await repos.executions.getById(executionId))?.status).toBe('failed');
    expect(await view()).toMatchObject({ status: 'running', error: null, finishedAt: null });
    // The flusher then puts the row back to running; an ended row with ended hot state is read from Postgres.
    await repos.executions.reopen({ executionId });
    await state.commitNode({ executionId, nodeId: 'a', result: completed('a'), takenChildren: [], failExecution: false, soft: false, at: AT });
    expect(await view()).toMatchObject({ status: 'completed', error: null });
    await state.close();
  });

  it('finalizes every end of a batch even when one of them fails, then fails the batch for a retry', async () => {
    const { repos } = database;
    const { workspace } = await repos.workspaces.create({ name: 'many-ends' });
    const flow = await repos.flows.create({ workspaceId: workspace.id, flow: { name: 'one', nodes: [{ id: 'a', type: 'transform', expression: '1' }], edges: [] } });
    const state = new MemoryStateStore({ events: new MemoryEventBus() });
    const start = async (flowId: string): Promise<string> => {
      const executionId = flowId === flow.id
        ? (await repos.executions.create({ workspaceId: workspace.id, flowId, flowVersion: flow.version, input: null })).execution.id
        : randomUUID();
      await state.initExecution({ executionId, workspaceId: workspace.id, flowId, flowVersion: 1, input: null, at: AT, nodes: [{ id: 'a', parentCount: 0, children: [] }] });
      await state.commitNode({ executionId, nodeId: 'a', result: completed('a'), takenChildren: [], failExecution: false, soft: false, at: AT });
      return executionId;
    };
    // The first end's hot state names a flow Postgres does not have: its finalize fails.
    const broken = await start(randomUUID());
    const ends = [broken, ...await Promise.all([1, 2, 3].map(() => start(flow.id)))];
    const flusher = new Flusher({
      state, flushLog: new MemoryFlushLog(), repos, flows: new FlowCache(repos.flows), logger: createLogger({ level: 'silent', name: 'test' }), metrics: createMetrics(),
      consumer: 'c1', hotStateTtlSeconds: 60,
    });
    await expect(flusher.write(ends.map((executionId, i) => ({ id: `1-${i}`, entry: { kind: 'execution' as const, executionId } })))).rejects.toThrow();
    for (const executionId of ends.slice(1)) expect((await repos.executions.getById(executionId))?.status).toBe('completed');
    await state.close();
  });
});

describe('Flusher batches (WEFT_FLUSH_LINGER_MS)', () => {
  /**
   * One entry is there when the flusher reads; two more are appended as that read answers. With a
   * linger the flusher reads again before it writes: one batch of three; without, two batches.
   */
  async function batchesFor(lingerMs: number): Promise<{ batches: number; rows: number }> {
    const { repos } = database;
    const { workspace } = await repos.workspaces.create({ name: `linger-${lingerMs}` });
    const flow = await repos.flows.create({
      workspaceId: workspace.id,
      flow: { name: 'abc', nodes: ['a', 'b', 'c'].map((id) => ({ id, type: 'transform', expression: '1' })), edges: [] },
    });
    const { execution } = await repos.executions.create({ workspaceId: workspace.id, flowId: flow.id, flowVersion: flow.version, input: null });
    const entry = (nodeId: string) => ({ kind: 'node' as const, executionId: execution.id, workspaceId: workspace.id, flowId: flow.id, nodeType: 'transform', nodeId, result: completed(nodeId) });
    const log = new MemoryFlushLog();
    await log.append([entry('a')]);
    let first = true;
    const flushLog = Object.create(log) as MemoryFlushLog;
    flushLog.read = async (consumer, count, blockMs) => {
      const records = await log.read(consumer, count, blockMs);
      if (first && records.length > 0) {
        first = false;
        await log.append([entry('b'), entry('c')]);
      }
      return records;
    };
    const metrics = createMetrics();
    const flusher = new Flusher({
      state: new MemoryStateStore({ events: new MemoryEventBus() }), flushLog, repos, flows: new FlowCache(repos.flows),
      logger: createLogger({ level: 'silent', name: 'test' }), metrics, consumer: 'c1', hotStateTtlSeconds: 60, blockMs: 50, lingerMs,
    });
    const value = async (name: 'flushRowsTotal' | 'flushBatchesTotal'): Promise<number> => (await metrics[name].get()).values.reduce((n, v) => n + v.value, 0);
    flusher.start();
    try {
      await waitFor(async () => (await value('flushRowsTotal')) === 3, { timeoutMs: 10_000, message: 'three rows flushed' });
    } finally {
      await flusher.stop();
    }
    expect((await repos.nodeRuns.listByExecution(execution.id)).map((r) => r.nodeId).sort()).toEqual(['a', 'b', 'c']);
    return { batches: await value('flushBatchesTotal'), rows: await value('flushRowsTotal') };
  }

  it('writes what came while it lingered with the batch it had', async () => {
    expect(await batchesFor(5)).toEqual({ batches: 1, rows: 3 });
  });

  it('writes at once without a linger', async () => {
    expect(await batchesFor(0)).toEqual({ batches: 2, rows: 3 });
  });
});
