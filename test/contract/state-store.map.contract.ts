/**
 * The StateStore conformance suite for map nodes (engine/apply-map.ts and its Lua port): the
 * concurrency window, order of results, item failures, retry rounds, cancel and redelivery.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { NodeError, NodeResult, StoredErrorCode } from '../../shared/src/model/index.js';
import type { EventBus } from '../../shared/src/ports/event-bus.js';
import type { MapGraphNode, StartMapInput, StateStore } from '../../shared/src/ports/state-store.js';
import { bodiesOf, completed, graph, storePerTest, types, type StateStoreFixture } from './state-store.contract.js';

const AT = '2025-01-01T00:00:00.000Z';
const LATER = '2025-01-01T00:00:01.500Z';

function failed(code: StoredErrorCode = 'http_server_error', soft = false): NodeResult {
  return { ...completed(null), status: 'failed', error: { code, category: soft ? 'transient' : 'permanent', message: `${code} happened` } };
}

/** Sub-graph `a → b`, b the output. */
function subGraph(): MapGraphNode[] {
  return [
    { id: 'a', parentCount: 0, children: ['b'] },
    { id: 'b', parentCount: 1, children: [] },
  ];
}


export function stateStoreMapContract(name: string, makeStore: () => Promise<StateStoreFixture>): void {
  describe(`StateStore map contract: ${name}`, () => {
    const current = storePerTest(makeStore);
    let store: StateStore;
    let bus: EventBus;
    beforeEach(() => {
      ({ store, events: bus } = current());
    });

    /** `src → m → after`; src committed and m started. */
    async function mapExecution(): Promise<string> {
      const executionId = randomUUID();
      await store.initExecution({
        executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 1, input: null, at: AT,
        nodes: graph(['src', 'm', 'after'], [['src', 'm'], ['m', 'after']]),
      });
      await store.commitNode({ executionId, nodeId: 'src', result: completed([1, 2, 3]), takenChildren: ['m'], failExecution: false, soft: false, at: AT });
      const started = await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w1', at: AT, readResultsOf: ['src'] });
      expect(started.kind).toBe('started');
      return executionId;
    }

    function startMap(executionId: string, items: unknown[], options: Partial<StartMapInput> = {}) {
      return store.startMap({
        executionId, nodeId: 'm', items, concurrency: 2, onItemError: 'fail', failExecution: true, output: 'b',
        nodes: subGraph(), at: AT, ...options,
      });
    }

    /** Commits an item's node; `soft`: its failure is soft (commitIntent's), taking `takes`. */
    function run(executionId: string, nodeId: string, result: NodeResult = completed(`${nodeId}-out`), takes?: string[], soft = false) {
      const children = /\.a$/.test(nodeId) ? [nodeId.replace(/\.a$/, '.b')] : [];
      return store.commitNode({ executionId, nodeId, result, takenChildren: takes ?? (result.status === 'completed' ? children : []), failExecution: false, soft, at: LATER });
    }

    it('runs at most `concurrency` items, releases the next as one ends, and gives results in input order', async () => {
      const executionId = await mapExecution();
      const map = await startMap(executionId, ['x', { y: 1 }, 3, null, 'e']);
      if (map.kind !== 'started') throw new Error(map.kind);
      expect(map.ready).toEqual(['m[0].a', 'm[1].a']);
      expect(map.round).toBe(0);
      expect(map.resumed).toBe(false);

      const item1 = await store.startNode({ executionId, nodeId: 'm[1].a', attempt: 1, workerId: 'w1', at: AT, readResultsOf: ['src'], mapItem: { mapId: 'm', index: 1, round: 0 } });
      expect(item1).toMatchObject({ kind: 'started', item: { y: 1 }, results: { src: { output: [1, 2, 3] } } });

      // Item 1 finishes before item 0: item 2 is released, nothing else.
      expect((await run(executionId, 'm[1].a')).ready).toEqual(['m[1].b']);
      const end1 = await run(executionId, 'm[1].b', completed({ n: 1.1 }));
      expect(end1).toMatchObject({ ready: ['m[2].a'], settledMaps: [], round: 0, finished: false });
      const hot = await store.getExecution(executionId);
      expect(Object.keys(hot?.nodes ?? {}).filter((id) => id.startsWith('m[')).sort()).toEqual(['m[0].a', 'm[0].b', 'm[1].a', 'm[1].b', 'm[2].a', 'm[2].b']);
      expect(hot?.nodes['m']?.status).toBe('running');

      for (const index of [0, 2, 3, 4]) {
        await run(executionId, `m[${index}].a`);
        const end = await run(executionId, `m[${index}].b`, completed(`out-${index}`));
        if (index < 4) expect(end.settledMaps).toEqual([]);
        else {
          expect(end.ready).toEqual(['after']);
          expect(end.settledMaps).toHaveLength(1);
          expect(end.settledMaps[0]?.nodeId).toBe('m');
          expect(end.settledMaps[0]?.result).toMatchObject({
            status: 'completed', output: ['out-0', { n: 1.1 }, 'out-2', 'out-3', 'out-4'], error: null,
            input: { count: 5, concurrency: 2 }, startedAt: AT, finishedAt: LATER, runtimeMs: 1500, attempts: 1, workerId: 'w1',
          });
          expect(types(end.events)).toEqual(['node.completed:m[4].b', 'node.completed:m']);
          expect((await bodiesOf(bus, executionId, end.events))[1]?.data).toMatchObject({ output: ['out-0', { n: 1.1 }, 'out-2', 'out-3', 'out-4'] });
        }
      }
      const last = await run(executionId, 'after');
      expect(last).toMatchObject({ finished: true, executionStatus: 'completed' });
    });

    it('a map of no items ends at once with an empty list', async () => {
      const executionId = await mapExecution();
      const map = await startMap(executionId, []);
      expect(map).toMatchObject({ kind: 'started', ready: ['after'], finished: false, executionStatus: 'running' });
      if (map.kind !== 'started') throw new Error(map.kind);
      expect(map.settledMaps[0]?.result).toMatchObject({ status: 'completed', output: [] });
    });

    it('one failed item fails the map and the execution; nodes not started are skipped', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1, 2, 3]);
      await store.startNode({ executionId, nodeId: 'm[1].a', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [], mapItem: { mapId: 'm', index: 1, round: 0 } });
      const end = await run(executionId, 'm[0].a', failed());
      // m[0].b is skipped by the failure itself, m[1].b because its item will not go on; m[1].a
      // still runs; nothing of item 2 exists.
      expect(end).toMatchObject({ finished: true, executionStatus: 'failed', ready: [], skipped: ['m[0].b', 'm[1].b'] });
      expect(types(end.events)).toEqual(['node.failed:m[0].a', 'node.skipped:m[0].b', 'node.skipped:m[1].b', 'node.failed:m', 'execution.failed']);
      expect(end.settledMaps[0]?.result.error).toEqual({
        code: 'map_item_failed', category: 'permanent', message: "item 0 failed at 'm[0].a': http_server_error happened",
      });
      expect((await bodiesOf(bus, executionId, end.events))[4]?.data).toMatchObject({ error: { code: 'map_item_failed', nodeId: 'm' } });
      // The straggler's commit is recorded and changes nothing else.
      const late = await run(executionId, 'm[1].a');
      expect(late).toMatchObject({ committed: true, ready: [], finished: false, executionStatus: 'failed' });
    });

    it('onItemError "continue": the failed item\'s slot holds its error and the map completes', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1, 2], { onItemError: 'continue' });
      await run(executionId, 'm[0].a');
      await run(executionId, 'm[0].b', failed('llm_server_error', true));
      await run(executionId, 'm[1].a');
      const end = await run(executionId, 'm[1].b', completed('fine'));
      expect(end.settledMaps[0]?.result.output).toEqual([
        { error: { code: 'llm_server_error', category: 'transient', message: 'llm_server_error happened', nodeId: 'm[0].b' } },
        'fine',
      ]);
      expect(end.ready).toEqual(['after']);
    });

    it('a soft failure inside an item (onError "continue") does not fail the item', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1]);
      expect((await run(executionId, 'm[0].a', failed('transform_failed'), ['m[0].b'], true)).ready).toEqual(['m[0].b']);
      const end = await run(executionId, 'm[0].b', completed('b ran'));
      expect(end.settledMaps[0]?.result).toMatchObject({ status: 'completed', output: ['b ran'] });
    });

    it('a map whose failure continues lets its children run with the error', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1], { failExecution: false });
      const end = await run(executionId, 'm[0].a', failed());
      expect(end).toMatchObject({ ready: ['after'], finished: false, executionStatus: 'running' });
      expect(end.settledMaps[0]?.result.status).toBe('failed');
    });

    it('a redelivered map job and a redelivered item commit re-announce the queued item nodes', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1, 2, 3]);
      const again = await startMap(executionId, [1, 2, 3]);
      expect(again).toMatchObject({ kind: 'started', resumed: true, ready: ['m[0].a', 'm[1].a'], events: [] });
      await run(executionId, 'm[0].a');
      await run(executionId, 'm[0].b');
      const healed = await run(executionId, 'm[0].b');
      expect(healed).toMatchObject({ committed: false, ready: ['m[1].a', 'm[2].a'] });
      // The same, read without a commit (what a redelivered job of a terminal node asks).
      expect(await store.readyAfter({ executionId, nodeId: 'm[0].b' })).toEqual({ ready: ['m[1].a', 'm[2].a'], round: 0 });
      expect(await store.readyAfter({ executionId: randomUUID(), nodeId: 'm[0].b' })).toBeNull();
    });

    it('a retry keeps the completed items and nodes, and runs the rest again in a new round', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, ['i0', 'i1', 'i2'], { concurrency: 3 });
      await run(executionId, 'm[0].a');
      await run(executionId, 'm[0].b', completed('kept'));
      await run(executionId, 'm[1].a', completed('paid once'));
      const failure = await run(executionId, 'm[2].a', failed());
      expect(failure).toMatchObject({ finished: true, executionStatus: 'failed', skipped: ['m[2].b', 'm[1].b'] });

      const reopened = await store.reopenNodes({ executionId, nodeIds: ['m'], at: LATER });
      expect(reopened).toMatchObject({ kind: 'reopened', ready: ['m'] });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w2', at: LATER, readResultsOf: [] });
      const resumed = await startMap(executionId, ['ignored'], { concurrency: 3 });
      // Item 1 goes on from its completed node a; item 2 runs again from the start.
      expect(resumed).toMatchObject({ kind: 'started', resumed: false, round: 1, reset: 2, ready: ['m[1].b', 'm[2].a'] });

      // A stale job of round 0 is gone; the item keeps its value.
      const startItem = (round: number) => store.startNode({ executionId, nodeId: 'm[2].a', attempt: 1, workerId: 'w', at: LATER, readResultsOf: [], mapItem: { mapId: 'm', index: 2, round } });
      expect(await startItem(0)).toEqual({ kind: 'gone' });
      expect(await startItem(1)).toMatchObject({ kind: 'started', item: 'i2' });
      const hot = await store.getExecution(executionId);
      expect(hot?.nodes['m[1].a']?.result).toMatchObject({ status: 'completed', output: 'paid once' });
      expect(hot?.nodes['m[1].b']?.status).toBe('queued');
      expect(hot?.nodes['m[2].b']?.status).toBe('pending');

      const one = await run(executionId, 'm[1].b', completed('again-1'));
      expect(one.round).toBe(1);
      await run(executionId, 'm[2].a');
      const end = await run(executionId, 'm[2].b', completed('again-2'));
      expect(end.settledMaps[0]?.result.output).toEqual(['kept', 'again-1', 'again-2']);
      expect(end.ready).toEqual(['after']);
    });

    it('a retried item whose kept node took no edge skips that side again', async () => {
      const executionId = await mapExecution();
      // c (a branching node) took only y; y failed; z stays skipped on the second run.
      const nodes: MapGraphNode[] = [
        { id: 'c', parentCount: 0, children: ['y', 'z'] },
        { id: 'y', parentCount: 1, children: [] },
        { id: 'z', parentCount: 1, children: [] },
      ];
      await startMap(executionId, ['only'], { nodes, output: 'y' });
      await run(executionId, 'm[0].c', completed(true), ['m[0].y']);
      const failure = await run(executionId, 'm[0].y', failed());
      expect(failure.executionStatus).toBe('failed');
      await store.reopenNodes({ executionId, nodeIds: ['m'], at: LATER });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w', at: LATER, readResultsOf: [] });
      const resumed = await startMap(executionId, ['only'], { nodes, output: 'y' });
      expect(resumed).toMatchObject({ kind: 'started', round: 1, reset: 1, ready: ['m[0].y'] });
      if (resumed.kind !== 'started') throw new Error(resumed.kind);
      expect(types(resumed.events)).toEqual(['node.skipped:m[0].z']);
      const end = await run(executionId, 'm[0].y', completed('y at last'));
      expect(end.settledMaps[0]?.result.output).toEqual(['y at last']);
    });

    it('a retry counts as completed an item whose last commits landed after its map had failed', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, ['x', 'y']);
      await run(executionId, 'm[1].a', completed('a1'));
      await store.startNode({ executionId, nodeId: 'm[1].b', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [], mapItem: { mapId: 'm', index: 1, round: 0 } });
      // Item 0 fails: the map and the execution fail while item 1's last node is still running.
      expect((await run(executionId, 'm[0].a', failed())).executionStatus).toBe('failed');
      // It finishes late: its result is kept, though the map has ended.
      expect((await run(executionId, 'm[1].b', completed('b1'))).committed).toBe(true);
      await store.reopenNodes({ executionId, nodeIds: ['m'], at: LATER });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w', at: LATER, readResultsOf: [] });
      const resumed = await startMap(executionId, ['x', 'y']);
      // Only item 0 runs again; item 1 has nothing left to run and holds no place in the window.
      expect(resumed).toMatchObject({ kind: 'started', round: 1, ready: ['m[0].a'] });
      await run(executionId, 'm[0].a', completed('a0'));
      const end = await run(executionId, 'm[0].b', completed('b0'));
      expect(end.settledMaps[0]?.result).toMatchObject({ status: 'completed', output: ['b0', 'b1'] });
      expect(end.ready).toEqual(['after']);
    });

    it('a retry ends at once an item that a late commit finished with a branch skipped: the map still ends', async () => {
      // `a` branches: it takes `b` (the output) and not `s`, which is skipped while the map runs.
      const nodes: MapGraphNode[] = [
        { id: 'a', parentCount: 0, children: ['b', 's'] },
        { id: 'b', parentCount: 1, children: [] },
        { id: 's', parentCount: 1, children: [] },
      ];
      const executionId = await mapExecution();
      await startMap(executionId, ['x', 'y'], { nodes });
      expect((await run(executionId, 'm[1].a', completed('a1'))).skipped).toEqual(['m[1].s']);
      await store.startNode({ executionId, nodeId: 'm[1].b', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [], mapItem: { mapId: 'm', index: 1, round: 0 } });
      // Item 0 fails the map and the execution while item 1's last node runs; that node then completes.
      expect((await run(executionId, 'm[0].a', failed())).executionStatus).toBe('failed');
      expect((await run(executionId, 'm[1].b', completed('b1'))).committed).toBe(true);
      await store.reopenNodes({ executionId, nodeIds: ['m'], at: LATER });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w', at: LATER, readResultsOf: [] });
      const resumed = await startMap(executionId, ['x', 'y'], { nodes });
      // Item 1 has nothing left to run (its skipped branch is skipped again): it holds no place.
      expect(resumed).toMatchObject({ kind: 'started', round: 1, ready: ['m[0].a'] });
      expect((await run(executionId, 'm[0].a', completed('a0'))).ready).toEqual(['m[0].b']);
      const end = await run(executionId, 'm[0].b', completed('b0'));
      expect(end.settledMaps[0]?.result).toMatchObject({ status: 'completed', output: ['b0', 'b1'] });
      expect(end.ready).toEqual(['after']);
      const hot = await store.getExecution(executionId);
      expect(hot?.nodes['m']?.status).toBe('completed');
      expect(hot?.nodes['m[1].s']?.status).toBe('skipped');
    });

    it('a retry undoes exactly the edges a soft failure took, as its commit recorded them', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, ['only']);
      // a fails softly and takes its edge to b; b (the output) fails hard: the item and the execution fail.
      expect((await run(executionId, 'm[0].a', failed('transform_failed'), ['m[0].b'], true)).ready).toEqual(['m[0].b']);
      expect((await run(executionId, 'm[0].b', failed())).executionStatus).toBe('failed');
      await store.reopenNodes({ executionId, nodeIds: ['m'], at: LATER });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w', at: LATER, readResultsOf: [] });
      const resumed = await startMap(executionId, ['only']);
      expect(resumed).toMatchObject({ kind: 'started', round: 1, reset: 1, ready: ['m[0].a'] });
      // This time a fails hard (takes nothing): b is skipped, because a's first edge was undone.
      const end = await run(executionId, 'm[0].a', failed('transform_failed'));
      expect(types(end.events)).toEqual(['node.failed:m[0].a', 'node.skipped:m[0].b', 'node.failed:m', 'execution.failed']);
      expect(end.settledMaps[0]?.result.error).toMatchObject({ code: 'map_item_failed' });
    });

    it('a cancel cuts a running map: it is cancelled (node_cancelled) and its running item nodes are answered', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1, 2, 3]);
      await store.startNode({ executionId, nodeId: 'm[0].a', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [], mapItem: { mapId: 'm', index: 0, round: 0 } });
      const cancelled = await store.cancelExecution({ executionId, at: LATER });
      expect(cancelled).toMatchObject({ kind: 'cancelled', running: ['m[0].a'], queued: ['m[1].a'], mapRounds: { m: 0 } });
      if (cancelled.kind !== 'cancelled') throw new Error(cancelled.kind);
      expect(types(cancelled.events)).toEqual(['node.cancelled:m', 'execution.cancelled']);
      const hot = await store.getExecution(executionId);
      expect(hot?.nodes['m']?.result).toMatchObject({ status: 'cancelled', error: { code: 'node_cancelled' }, runtimeMs: 1500 });
    });

    it('a map cut by a cancel runs its unfinished items on retry, and its children run after it', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, ['x', 'y']);
      await run(executionId, 'm[0].a');
      await run(executionId, 'm[0].b', completed('done before'));
      await store.startNode({ executionId, nodeId: 'm[1].a', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [], mapItem: { mapId: 'm', index: 1, round: 0 } });
      await store.cancelExecution({ executionId, at: LATER });
      // The aborted call commits late.
      await run(executionId, 'm[1].a', failed('node_cancelled'));
      expect(await store.reopenNodes({ executionId, nodeIds: ['m'], at: LATER })).toMatchObject({ kind: 'reopened', ready: ['m'] });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] });
      expect(await startMap(executionId, ['x', 'y'])).toMatchObject({ kind: 'started', round: 1, reset: 1, ready: ['m[1].a'] });
      await run(executionId, 'm[1].a');
      const end = await run(executionId, 'm[1].b', completed('done after'));
      expect(end.settledMaps[0]?.result.output).toEqual(['done before', 'done after']);
      expect(end.ready).toEqual(['after']);
      expect(await run(executionId, 'after')).toMatchObject({ finished: true, executionStatus: 'completed' });
    });

    it('a cancel answers each map\'s round, which names its queued item nodes\' jobs', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1]);
      await run(executionId, 'm[0].a', failed());
      await store.reopenNodes({ executionId, nodeIds: ['m'], at: LATER });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] });
      expect(await startMap(executionId, [1])).toMatchObject({ round: 1, ready: ['m[0].a'] });
      expect(await store.cancelExecution({ executionId, at: LATER })).toMatchObject({ kind: 'cancelled', queued: ['m[0].a'], mapRounds: { m: 1 } });
    });

    it('a map that ends early skips its waiting item nodes, and the execution runs again', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1, 2], { failExecution: false });
      await store.startNode({ executionId, nodeId: 'm[0].a', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [], mapItem: { mapId: 'm', index: 0, round: 0 } });
      const waiting = await store.waitNode({ executionId, nodeId: 'm[0].a', at: AT, tokenHash: null, data: {} });
      expect(types(waiting.kind === 'waiting' ? waiting.events : [])).toEqual(['node.waiting:m[0].a', 'execution.waiting']);
      const end = await run(executionId, 'm[1].a', failed());
      expect(types(end.events)).toEqual([
        'node.failed:m[1].a', 'node.skipped:m[1].b', 'node.skipped:m[0].a', 'node.skipped:m[0].b', 'execution.resumed', 'node.failed:m',
      ]);
      expect(end).toMatchObject({ executionStatus: 'running', ready: ['after'] });
      // A late resume of the skipped wait changes nothing.
      expect(await run(executionId, 'm[0].a')).toMatchObject({ committed: false });
    });

    it('a map timeout ends the map of its round: unstarted item nodes skipped, running ones answered', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1, 2, 3]);
      await store.startNode({ executionId, nodeId: 'm[0].a', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [], mapItem: { mapId: 'm', index: 0, round: 0 } });
      const error: NodeError = { code: 'node_timeout', category: 'transient', message: "map 'm' timed out after 1500 ms" };
      expect(await store.timeoutMap({ executionId, nodeId: 'm', round: 1, at: LATER, error })).toEqual({ kind: 'not-running' });
      const ended = await store.timeoutMap({ executionId, nodeId: 'm', round: 0, at: LATER, error });
      expect(ended).toMatchObject({ kind: 'ended', running: ['m[0].a'], ready: [], finished: true, executionStatus: 'failed' });
      if (ended.kind !== 'ended') throw new Error(ended.kind);
      expect(types(ended.events)).toEqual(['node.skipped:m[0].b', 'node.skipped:m[1].a', 'node.skipped:m[1].b', 'node.failed:m', 'execution.failed']);
      expect(ended.settledMaps[0]?.result).toMatchObject({ status: 'failed', error, runtimeMs: 1500 });
      expect(await store.timeoutMap({ executionId, nodeId: 'm', round: 0, at: LATER, error })).toEqual({ kind: 'not-running' });
      // The aborted node's commit is recorded and changes nothing.
      expect(await run(executionId, 'm[0].a', failed('node_cancelled'))).toMatchObject({ committed: true, ready: [], settledMaps: [] });
    });

    it('a map timeout with onError "continue" lets the map\'s children run', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1], { failExecution: false });
      const ended = await store.timeoutMap({ executionId, nodeId: 'm', round: 0, at: LATER, error: { code: 'node_timeout', category: 'transient', message: 'late' } });
      expect(ended).toMatchObject({ kind: 'ended', running: [], ready: ['after'], finished: false, executionStatus: 'running' });
    });

    it('an item node that fails the execution (a passed budget) ends its map with it', async () => {
      const executionId = await mapExecution();
      await startMap(executionId, [1, 2]);
      const end = await store.commitNode({ executionId, nodeId: 'm[0].a', result: failed('budget_exceeded'), takenChildren: [], failExecution: true, soft: false, at: LATER });
      expect(types(end.events)).toEqual([
        'node.failed:m[0].a', 'node.skipped:m[0].b', 'node.skipped:m[1].a', 'node.skipped:m[1].b', 'node.failed:m', 'execution.failed',
      ]);
      expect(end).toMatchObject({ finished: true, executionStatus: 'failed' });
      expect((await bodiesOf(bus, executionId, end.events))[5]?.data).toMatchObject({ error: { code: 'budget_exceeded', nodeId: 'm[0].a' } });
      expect(end.settledMaps[0]?.result.error?.message).toBe("item 0 failed at 'm[0].a': budget_exceeded happened");
      // A retry (a raised budget) runs the map again and it flows on to its children.
      await store.reopenNodes({ executionId, nodeIds: ['m'], at: LATER });
      await store.startNode({ executionId, nodeId: 'm', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] });
      expect(await startMap(executionId, [1, 2])).toMatchObject({ kind: 'started', round: 1, reset: 2, ready: ['m[0].a', 'm[1].a'] });
      for (const index of [0, 1]) {
        await run(executionId, `m[${index}].a`);
        const last = await run(executionId, `m[${index}].b`);
        if (index === 1) expect(last.ready).toEqual(['after']);
      }
    });
  });
}
