/**
 * The StateStore conformance suite for eager dispatch (CommitNodeInput.eager, readyAfter with a
 * lease): a commit starts one child it made ready in the same step, leased to the committing job,
 * and a redelivery of that job finds what ran under it.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { NodeResult } from '../../shared/src/model/index.js';
import type { EventBus } from '../../shared/src/ports/event-bus.js';
import type { EagerCandidate, StateStore } from '../../shared/src/ports/state-store.js';
import { bodiesOf, completed, graph, storePerTest, types, type StateStoreFixture } from './state-store.contract.js';

const AT = '2025-01-01T00:00:00.000Z';
const LATER = '2025-01-01T00:00:01.000Z';


export function stateStoreEagerContract(name: string, makeStore: () => Promise<StateStoreFixture>): void {
  describe(`StateStore eager dispatch contract: ${name}`, () => {
    const current = storePerTest(makeStore);
    let store: StateStore;
    let bus: EventBus;
    beforeEach(() => {
      ({ store, events: bus } = current());
    });

    async function start(nodes: ReturnType<typeof graph>): Promise<string> {
      const executionId = randomUUID();
      await store.initExecution({ executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 1, input: { topic: 'x' }, nodes, at: AT });
      return executionId;
    }

    function commit(executionId: string, nodeId: string, options: { takes: string[]; candidates?: EagerCandidate[]; job?: string; result?: NodeResult; fail?: boolean; max?: number }) {
      return store.commitNode({
        executionId, nodeId, result: options.result ?? completed(`${nodeId}-out`), takenChildren: options.takes,
        failExecution: options.fail ?? false, soft: false, at: LATER,
        ...(options.candidates ? { eager: { candidates: options.candidates, leaseJobId: options.job ?? `job-${nodeId}`, workerId: 'w9', ...(options.max === undefined ? {} : { max: options.max }) } } : {}),
      });
    }

    it('starts the first ready candidate in the commit: out of ready, running, node.started after the commit events', async () => {
      const executionId = await start(graph(['a', 'b', 'c'], [['a', 'b'], ['a', 'c']]));
      const done = await commit(executionId, 'a', {
        takes: ['b', 'c'],
        candidates: [{ nodeId: 'x', readResultsOf: [] }, { nodeId: 'c', readResultsOf: ['a', 'b'] }, { nodeId: 'b', readResultsOf: ['a'] }],
      });
      expect(done.committed).toBe(true);
      expect(done.ready).toEqual(['b']);
      expect(done.eager).toEqual({ nodeId: 'c', input: { topic: 'x' }, results: { a: completed('a-out') } });
      expect(types(done.events)).toEqual(['node.completed:a', 'node.started:c']);
      expect((await bodiesOf(bus, executionId, done.events))[1]).toMatchObject({ at: LATER, data: { attempt: 1, workerId: 'w9' } });
      const hot = await store.getExecution(executionId);
      expect(hot?.nodes.c).toEqual({ status: 'running', attempts: 1, startedAt: LATER, workerId: 'w9', result: null });
      expect(hot?.nodes.b?.status).toBe('queued');
      // The eager child commits like any node.
      expect((await commit(executionId, 'c', { takes: [] })).committed).toBe(true);
    });

    it('starts up to max ready candidates in their order, each leased to the job, the rest left ready', async () => {
      // a → b, c, d, e (a fan-out of 4): a worker with room for three.
      const executionId = await start(graph(['a', 'b', 'c', 'd', 'e'], [['a', 'b'], ['a', 'c'], ['a', 'd'], ['a', 'e']]));
      const done = await commit(executionId, 'a', {
        takes: ['b', 'c', 'd', 'e'], max: 3,
        candidates: ['e', 'x', 'b', 'c', 'd'].map((nodeId) => ({ nodeId, readResultsOf: ['a'] })),
      });
      expect(done.eager?.nodeId).toBe('e');
      expect(done.eagerMore?.map((e) => e.nodeId)).toEqual(['b', 'c']);
      expect(done.eagerMore?.[1]).toEqual({ nodeId: 'c', input: { topic: 'x' }, results: { a: completed('a-out') } });
      expect(done.ready).toEqual(['d']);
      expect(types(done.events)).toEqual(['node.completed:a', 'node.started:e', 'node.started:b', 'node.started:c']);
      const hot = await store.getExecution(executionId);
      expect(['b', 'c', 'd', 'e'].map((id) => hot?.nodes[id]?.status)).toEqual(['running', 'running', 'queued', 'running']);
      // b ended, c and e are still open under job-a: a redelivery re-enqueues those two and d (never enqueued here).
      await commit(executionId, 'b', { takes: [] });
      expect(await store.readyAfter({ executionId, nodeId: 'a', leaseJobId: 'job-a' })).toEqual({ ready: ['c', 'd', 'e'], round: 0 });

      // Without max, one at most.
      const single = await start(graph(['a', 'b', 'c'], [['a', 'b'], ['a', 'c']]));
      const one = await commit(single, 'a', { takes: ['b', 'c'], candidates: [{ nodeId: 'b', readResultsOf: [] }, { nodeId: 'c', readResultsOf: [] }] });
      expect(one.eager?.nodeId).toBe('b');
      expect(one.eagerMore).toBeUndefined();
      expect(one.ready).toEqual(['c']);
    });

    it('starts nothing when no candidate became ready, the execution ended, or the commit was a redelivery', async () => {
      const diamond = await start(graph(['a', 'b', 'd'], [['a', 'd'], ['b', 'd']]));
      const first = await commit(diamond, 'a', { takes: ['d'], candidates: [{ nodeId: 'd', readResultsOf: [] }] });
      expect(first.eager).toBeUndefined();
      const second = await commit(diamond, 'b', { takes: ['d'], candidates: [{ nodeId: 'd', readResultsOf: ['a', 'b'] }] });
      expect(second.eager?.nodeId).toBe('d');
      expect(second.ready).toEqual([]);
      const again = await commit(diamond, 'b', { takes: ['d'], candidates: [{ nodeId: 'd', readResultsOf: [] }] });
      expect(again.committed).toBe(false);
      expect(again.eager).toBeUndefined();

      const failing = await start(graph(['a', 'b'], [['a', 'b']]));
      const failed = await commit(failing, 'a', {
        takes: [], fail: true, candidates: [{ nodeId: 'b', readResultsOf: [] }],
        result: { ...completed(null), status: 'failed', error: { code: 'llm_auth', category: 'permanent', message: 'bad key' } },
      });
      expect(failed.eager).toBeUndefined();
      expect(failed.executionStatus).toBe('failed');
    });

    it('readyAfter with the lease job answers the leased nodes still open and what the ended ones made ready', async () => {
      // a → b → c → d, and b → e: b and c ran eagerly under job-a; c is open, e was never enqueued.
      const executionId = await start(graph(['a', 'b', 'c', 'd', 'e'], [['a', 'b'], ['b', 'c'], ['c', 'd'], ['b', 'e']]));
      expect((await commit(executionId, 'a', { takes: ['b'], candidates: [{ nodeId: 'b', readResultsOf: ['a'] }] })).eager?.nodeId).toBe('b');
      const b = await commit(executionId, 'b', { takes: ['c', 'e'], job: 'job-a', candidates: [{ nodeId: 'c', readResultsOf: ['b'] }] });
      expect(b.eager?.nodeId).toBe('c');
      expect(b.ready).toEqual(['e']);
      expect(await store.readyAfter({ executionId, nodeId: 'a' })).toEqual({ ready: [], round: 0 });
      expect(await store.readyAfter({ executionId, nodeId: 'a', leaseJobId: 'job-a' })).toEqual({ ready: ['c', 'e'], round: 0 });
      expect(await store.readyAfter({ executionId, nodeId: 'a', leaseJobId: 'job-other' })).toEqual({ ready: [], round: 0 });
    });

    function step(executionId: string, nodeId: string, takes: string[], next?: string) {
      return {
        executionId, nodeId, result: completed(`${nodeId}-out`), takenChildren: takes, failExecution: false, soft: false, at: LATER,
        ...(next ? { eager: { candidates: [{ nodeId: next, readResultsOf: [nodeId] }], leaseJobId: 'job-a', workerId: 'w9', max: 1 } } : {}),
      };
    }

    it('commits a fused run in one step: each node starts the next, the last starts its own candidate', async () => {
      const executionId = await start(graph(['a', 'b', 'c', 'd'], [['a', 'b'], ['b', 'c'], ['c', 'd']]));
      const run = await store.commitNodes([step(executionId, 'a', ['b'], 'b'), step(executionId, 'b', ['c'], 'c'), step(executionId, 'c', ['d'], 'd')]);
      expect(run.map((r) => r.committed)).toEqual([true, true, true]);
      // A continuing step's child is named only: the worker ran it already.
      expect(run[0]?.eager).toEqual({ nodeId: 'b', input: null, results: {} });
      expect(run[1]?.eager).toEqual({ nodeId: 'c', input: null, results: {} });
      expect(run[2]?.eager).toEqual({ nodeId: 'd', input: { topic: 'x' }, results: { c: completed('c-out') } });
      expect(run.flatMap((r) => types(r.events))).toEqual([
        'node.completed:a', 'node.started:b', 'node.completed:b', 'node.started:c', 'node.completed:c', 'node.started:d',
      ]);
      const hot = await store.getExecution(executionId);
      expect([hot?.nodes.a?.result?.output, hot?.nodes.b?.result?.output, hot?.nodes.c?.result?.output]).toEqual(['a-out', 'b-out', 'c-out']);
      expect(hot?.nodes.d?.status).toBe('running');
      // All of it leased to the job: its redelivery finds d still open.
      expect(await store.readyAfter({ executionId, nodeId: 'a', leaseJobId: 'job-a' })).toEqual({ ready: ['d'], round: 0 });
      const end = await store.commitNodes([step(executionId, 'd', [])]);
      expect(end.map((r) => [r.committed, r.finished, r.executionStatus])).toEqual([[true, true, 'completed']]);
    });

    it('stops a fused run after a step that did not start the next node: the later steps are not committed', async () => {
      const executionId = await start(graph(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']]));
      // a was committed already (a redelivery): its commit starts nothing, so b's result is dropped.
      await commit(executionId, 'a', { takes: ['b'] });
      const again = await store.commitNodes([step(executionId, 'a', ['b'], 'b'), step(executionId, 'b', ['c'], 'c')]);
      expect(again.map((r) => r.committed)).toEqual([false]);
      expect(again[0]?.ready).toEqual(['b']);
      expect((await store.getExecution(executionId))?.nodes.b).toMatchObject({ status: 'queued', result: null });

      // The execution was cancelled while the run ran: its first node commits, the next is not started.
      const cancelled = await start(graph(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']]));
      await store.cancelExecution({ executionId: cancelled, at: LATER });
      const cut = await store.commitNodes([step(cancelled, 'a', ['b'], 'b'), step(cancelled, 'b', ['c'], 'c')]);
      expect(cut.map((r) => [r.committed, r.executionStatus, r.eager])).toEqual([[true, 'cancelled', undefined]]);
      expect((await store.getExecution(cancelled))?.nodes.b?.result).toBeNull();
    });

    it("starts a map's join from the commit that ends the map, with the item nodes' own children as item nodes", async () => {
      const executionId = await start(graph(['m', 'join'], [['m', 'join']]));
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [] });
      await store.startMap({
        executionId, nodeId: 'm', items: ['x', 'y'], concurrency: 2, onItemError: 'fail', failExecution: true, output: 'b', at: AT,
        nodes: [{ id: 'a', parentCount: 0, children: ['b'] }, { id: 'b', parentCount: 1, children: [] }],
      });
      const inItem = await commit(executionId, 'm[1].a', { takes: ['m[1].b'], candidates: [{ nodeId: 'm[1].b', readResultsOf: ['m[1].a'], mapItem: { mapId: 'm', index: 1 } }] });
      expect(inItem.eager).toEqual({ nodeId: 'm[1].b', input: { topic: 'x' }, results: { 'm[1].a': completed('m[1].a-out') }, item: 'y', mapItem: { mapId: 'm', index: 1, round: 0 } });
      await commit(executionId, 'm[1].b', { takes: [], candidates: [{ nodeId: 'join', readResultsOf: ['m'] }] });
      await commit(executionId, 'm[0].a', { takes: ['m[0].b'] });
      const last = await commit(executionId, 'm[0].b', { takes: [], candidates: [{ nodeId: 'join', readResultsOf: ['m'] }] });
      expect(last.settledMaps.map((m) => m.nodeId)).toEqual(['m']);
      expect(last.eager?.nodeId).toBe('join');
      expect(last.eager?.results.m?.output).toEqual(['m[0].b-out', 'm[1].b-out']);
      expect(last.ready).toEqual([]);
      expect(types(last.events).at(-1)).toBe('node.started:join');
    });
  });
}
