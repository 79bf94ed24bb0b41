/**
 * The StateStore conformance suite: every adapter runs it (state-store.test.ts). It pins the
 * engine's hot-state semantics — readiness, fan-in, skip propagation, failure, idempotent
 * redelivery, event order. The flush log and the spend ledger have suites of their own.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareEventIds } from '../../shared/src/engine/event-ids.js';
import { eventSummaries, type EventSummary, type NodeError, type NodeResult, type WeftEvent } from '../../shared/src/model/index.js';
import type { EventBus } from '../../shared/src/ports/event-bus.js';
import type { HotGraphNode, StateStore } from '../../shared/src/ports/state-store.js';
import { waitFor } from '../helpers/wait-for.js';

export interface StateStoreFixture {
  store: StateStore;
  /** The bus the store's events go to. */
  events: EventBus;
  cleanup(): Promise<void>;
}

const AT = '2025-01-01T00:00:00.000Z';
const LATER = '2025-01-01T00:00:01.000Z';

export function graph(nodeIds: string[], edges: Array<[string, string]>): HotGraphNode[] {
  return nodeIds.map((id) => ({
    id,
    parentCount: edges.filter(([, to]) => to === id).length,
    children: edges.filter(([from]) => from === id).map(([, to]) => to),
  }));
}

export function completed(output: unknown = 'ok'): NodeResult {
  return {
    status: 'completed', output, error: null, usage: null, cost: null, attempts: 1, input: { prompt: 'p' },
    provider: 'openai', model: 'gpt-4o', workerId: 'w1', startedAt: AT, finishedAt: LATER, runtimeMs: 7,
  };
}

function failed(): NodeResult {
  return { ...completed(null), status: 'failed', error: { code: 'llm_auth', category: 'permanent', message: 'bad key' } };
}

const SKIPPED: NodeResult = {
  status: 'skipped', output: null, error: null, usage: null, cost: null, attempts: 0, input: null,
  provider: null, model: null, workerId: null, startedAt: null, finishedAt: LATER, runtimeMs: null,
};

/** Events as `type:nodeId` (or `type`), in order. */
export const types = (events: readonly EventSummary[]): string[] => events.map((e) => (e.nodeId ? `${e.type}:${e.nodeId}` : e.type));

/**
 * The whole events of a transition that answered them in brief (CommitNodeResult.events): the
 * last ones on the store's bus, checked to be those.
 */
export async function bodiesOf(bus: EventBus, executionId: string, answered: readonly EventSummary[]): Promise<WeftEvent[]> {
  const all = await bus.replay(executionId);
  const tail = all.slice(all.length - answered.length);
  expect(types(tail)).toEqual(types(answered));
  return tail;
}


/**
 * Registers a fresh fixture per test (and its cleanup) in the current describe block; answers
 * the current fixture.
 */
export function storePerTest(makeStore: () => Promise<StateStoreFixture>): () => StateStoreFixture {
  let fx: StateStoreFixture | undefined;
  beforeEach(async () => {
    fx = await makeStore();
  });
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });
  return () => {
    if (!fx) throw new Error('no store outside a test');
    return fx;
  };
}

export function stateStoreContract(name: string, makeStore: () => Promise<StateStoreFixture>): void {
  describe(`StateStore contract: ${name}`, () => {
    let fx: StateStoreFixture;
    let store: StateStore;
    beforeEach(async () => {
      fx = await makeStore();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    async function start(nodes: HotGraphNode[], input: unknown = { topic: 'weft' }) {
      const executionId = randomUUID();
      const init = await store.initExecution({ executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, input, nodes, at: AT });
      return { executionId, init };
    }

    function commit(executionId: string, nodeId: string, options: { takes: string[]; result?: NodeResult; fail?: boolean }) {
      return store.commitNode({
        executionId, nodeId, result: options.result ?? completed(`${nodeId}-out`), takenChildren: options.takes,
        failExecution: options.fail ?? false, soft: false, at: LATER,
      });
    }

    describe('waitNode', () => {
      it('suspends a node while other branches run, and resumes the execution when it commits', async () => {
        // a → w → b, and c alone.
        const { executionId } = await start(graph(['a', 'w', 'b', 'c'], [['a', 'w'], ['w', 'b']]));
        await commit(executionId, 'a', { takes: ['w'] });
        await store.startNode({ executionId, nodeId: 'w', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] });
        const waiting = await store.waitNode({ executionId, nodeId: 'w', at: LATER, tokenHash: 'abc123', data: { event: 'approval' } });
        if (waiting.kind !== 'waiting') throw new Error(`expected waiting, got ${waiting.kind}`);
        expect(types(waiting.events)).toEqual(['node.waiting:w', 'execution.waiting']);
        expect(waiting.events[0]?.data).toEqual({ event: 'approval' });
        const hot = await store.getExecution(executionId);
        expect(hot?.status).toBe('waiting');
        expect(hot?.nodes.w).toMatchObject({ status: 'waiting', waitTokenHash: 'abc123' });
        // The other branch still runs while the execution waits.
        expect((await store.startNode({ executionId, nodeId: 'c', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] })).kind).toBe('started');
        expect((await commit(executionId, 'c', { takes: [] })).executionStatus).toBe('waiting');
        const resumed = await commit(executionId, 'w', { takes: ['b'] });
        expect(resumed.ready).toEqual(['b']);
        expect(resumed.executionStatus).toBe('running');
        expect(types(resumed.events)).toEqual(['node.completed:w', 'execution.resumed']);
        expect(await store.waitNode({ executionId, nodeId: 'w', at: LATER, tokenHash: null, data: {} })).toEqual({ kind: 'node-terminal' });
        expect(await store.waitNode({ executionId: randomUUID(), nodeId: 'w', at: LATER, tokenHash: null, data: {} })).toEqual({ kind: 'missing' });
      });
    });

    describe('claimResumeLink', () => {
      it('gives one use per waiting spell, to exactly one of concurrent claims, until released', async () => {
        const spell = { executionId: randomUUID(), nodeId: 'w', waitingSince: AT };
        const expiresAtMs = Date.now() + 60_000;
        const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimResumeLink({ ...spell, expiresAtMs })));
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect(await store.claimResumeLink({ ...spell, expiresAtMs })).toBe(false);
        // Another spell of the node, or another node: links of their own.
        expect(await store.claimResumeLink({ ...spell, waitingSince: LATER, expiresAtMs })).toBe(true);
        expect(await store.claimResumeLink({ ...spell, nodeId: 'w2', expiresAtMs })).toBe(true);
        await store.releaseResumeLink(spell);
        expect(await store.claimResumeLink({ ...spell, expiresAtMs })).toBe(true);
      });
    });

    describe('deleteExecutions', () => {
      it("deletes the executions' hot state at once, whatever their status, and leaves the others", async () => {
        const { executionId: live } = await start(graph(['a', 'b'], [['a', 'b']]));
        await commit(live, 'a', { takes: ['b'] });
        const { executionId: other } = await start(graph(['a'], []));
        await store.deleteExecutions([live, randomUUID()]);
        expect(await store.getExecution(live)).toBeNull();
        expect((await store.existingExecutions([live, other])).has(live)).toBe(false);
        expect((await store.getExecution(other))?.status).toBe('running');
        await store.deleteExecutions([]);
        expect(await store.startNode({ executionId: live, nodeId: 'b', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] })).toEqual({ kind: 'missing' });
      });
    });

    describe('putBlob and getBlobs (claim check)', () => {
      it('keeps an offloaded value with its execution: read back in order, gone with its deletion or expiry', async () => {
        const { executionId } = await start(graph(['a'], []));
        const { executionId: other } = await start(graph(['a'], []));
        const big = JSON.stringify('x'.repeat(10_000));
        await store.putBlob({ executionId, blobId: 'b1', text: big });
        await store.putBlob({ executionId: other, blobId: 'b2', text: '{"n":2}' });
        expect(await store.getBlobs([{ executionId: other, blobId: 'b2' }, { executionId, blobId: 'b1' }, { executionId, blobId: 'nope' }]))
          .toEqual(['{"n":2}', big, null]);
        expect(await store.getBlobs([])).toEqual([]);
        await store.deleteExecutions([executionId]);
        expect(await store.getBlobs([{ executionId, blobId: 'b1' }])).toEqual([null]);
        await commit(other, 'a', { takes: [] });
        expect(await store.expireExecution(other, 0)).toBe(true);
        expect(await store.getBlobs([{ executionId: other, blobId: 'b2' }])).toEqual([null]);
      });
    });

    describe('cancelExecution', () => {
      it('stops the execution: answers running and queued nodes, no node starts after, late commits unblock nothing', async () => {
        const { executionId } = await start(graph(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['b', 'd']]));
        await commit(executionId, 'a', { takes: ['b', 'c'] });
        await store.startNode({ executionId, nodeId: 'b', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] });
        const cancelled = await store.cancelExecution({ executionId, at: LATER });
        if (cancelled.kind !== 'cancelled') throw new Error(`expected cancelled, got ${cancelled.kind}`);
        expect(cancelled.running).toEqual(['b']);
        expect(cancelled.queued).toEqual(['c']);
        expect(types(cancelled.events)).toEqual(['execution.cancelled']);
        expect(await store.startNode({ executionId, nodeId: 'c', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] })).toEqual({ kind: 'execution-ended', status: 'cancelled' });
        const late = await commit(executionId, 'b', { takes: ['d'] });
        expect(late).toMatchObject({ committed: true, ready: [], finished: false, executionStatus: 'cancelled' });
        expect((await store.getExecution(executionId))?.status).toBe('cancelled');
        expect(await store.cancelExecution({ executionId, at: LATER })).toEqual({ kind: 'ended', status: 'cancelled' });
        expect(await store.cancelExecution({ executionId: randomUUID(), at: LATER })).toEqual({ kind: 'missing' });
      });
    });

    describe('cancelExecution as failed (execution timeout)', () => {
      it('ends the execution failed with its error, appends execution.failed, and keeps the error in hot state', async () => {
        const { executionId } = await start(graph(['a'], []));
        await store.startNode({ executionId, nodeId: 'a', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] });
        const error: NodeError = { code: 'execution_timeout', category: 'permanent', message: 'too long' };
        const ended = await store.cancelExecution({ executionId, at: LATER, endAs: { status: 'failed', error } });
        if (ended.kind !== 'cancelled') throw new Error(`expected cancelled, got ${ended.kind}`);
        expect(ended.running).toEqual(['a']);
        expect(types(ended.events)).toEqual(['execution.failed']);
        expect(ended.events[0]?.data).toEqual({ status: 'failed', error });
        const hot = await store.getExecution(executionId);
        expect(hot?.status).toBe('failed');
        expect(hot?.error).toEqual(error);
      });
    });

    describe('reopenNodes', () => {
      it('re-opens a failed node: the execution runs again and completes once it succeeds', async () => {
        const { executionId } = await start(graph(['a', 'b'], [['a', 'b']]));
        expect((await commit(executionId, 'a', { takes: ['b'] })).ready).toEqual(['b']);
        const failing = await commit(executionId, 'b', { takes: [], result: failed(), fail: true });
        expect(failing.executionStatus).toBe('failed');
        const reopened = await store.reopenNodes({ executionId, nodeIds: ['b'], at: LATER });
        if (reopened.kind !== 'reopened') throw new Error(`expected reopened, got ${reopened.kind}`);
        expect(reopened.ready).toEqual(['b']);
        expect(types(reopened.events)).toEqual(['execution.resumed']);
        const hot = await store.getExecution(executionId);
        expect(hot?.status).toBe('running');
        expect(hot?.finishedAt).toBeNull();
        expect(hot?.nodes.b?.result).toBeNull();
        const done = await commit(executionId, 'b', { takes: [] });
        expect(done).toMatchObject({ committed: true, finished: true, executionStatus: 'completed' });
      });

      it('keeps the counts of commits that landed after the failure, and readies what they unblocked', async () => {
        // a → b, a → c, b → d, c → d, c → e; b fails the execution, c completes afterwards.
        const { executionId } = await start(graph(['a', 'b', 'c', 'd', 'e'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd'], ['c', 'e']]));
        await commit(executionId, 'a', { takes: ['b', 'c'] });
        await commit(executionId, 'b', { takes: [], result: failed(), fail: true });
        expect((await commit(executionId, 'c', { takes: ['d', 'e'] })).ready).toEqual([]);
        const reopened = await store.reopenNodes({ executionId, nodeIds: ['b'], at: LATER });
        if (reopened.kind !== 'reopened') throw new Error(`expected reopened, got ${reopened.kind}`);
        expect(reopened.ready).toEqual(['b', 'e']);
        expect((await commit(executionId, 'b', { takes: ['d'] })).ready).toEqual(['d']);
        await commit(executionId, 'e', { takes: [] });
        expect(await commit(executionId, 'd', { takes: [] })).toMatchObject({ finished: true, executionStatus: 'completed' });
      });

      it('re-opens a node cancelled while it ran: a retry after a cancel runs it again', async () => {
        const { executionId } = await start(graph(['a', 'b'], [['a', 'b']]));
        await store.startNode({ executionId, nodeId: 'a', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [] });
        expect((await store.cancelExecution({ executionId, at: LATER })).kind).toBe('cancelled');
        const cancelled: NodeResult = { ...failed(), status: 'cancelled', error: { code: 'node_cancelled', category: 'permanent', message: 'cancelled' }, startedAt: AT };
        const late = await commit(executionId, 'a', { takes: [], result: cancelled, fail: true });
        expect(late).toMatchObject({ committed: true, finished: false, executionStatus: 'cancelled' });
        expect(types(late.events)).toEqual(['node.cancelled:a']);
        expect((await store.getExecution(executionId))?.nodes.a?.result).toMatchObject({ status: 'cancelled', startedAt: AT });
        const reopened = await store.reopenNodes({ executionId, nodeIds: ['a'], at: LATER });
        expect(reopened).toMatchObject({ kind: 'reopened', ready: ['a'] });
        expect((await store.getExecution(executionId))?.status).toBe('running');
      });

      it('refuses a node that did not fail, and answers missing for an unknown execution', async () => {
        const { executionId } = await start(graph(['a'], []));
        await commit(executionId, 'a', { takes: [] });
        expect(await store.reopenNodes({ executionId, nodeIds: ['a'], at: LATER })).toEqual({ kind: 'not-failed', nodeId: 'a' });
        expect(await store.reopenNodes({ executionId: randomUUID(), nodeIds: ['a'], at: LATER })).toEqual({ kind: 'missing' });
      });
    });

    describe('initExecution', () => {
      it('creates running hot state, queues the roots and appends execution.started', async () => {
        const { executionId, init } = await start(graph(['a', 'b', 'c'], [['a', 'c'], ['b', 'c']]));
        expect(init.created).toBe(true);
        expect(init.status).toBe('running');
        expect(init.ready).toEqual(['a', 'b']);
        expect(init.events).toHaveLength(1);
        expect(init.events[0]).toMatchObject({
          type: 'execution.started', executionId, flowId: 'fl1', workspaceId: 'ws1', at: AT, data: { flowVersion: 2 },
        });
        expect(init.events[0]?.nodeId).toBeUndefined();
        const hot = await store.getExecution(executionId);
        expect(hot?.nodes.a?.status).toBe('queued');
        expect(hot?.nodes.c?.status).toBe('pending');
      });

      it('is idempotent: a second init writes nothing and answers the roots not yet terminal', async () => {
        const nodes = graph(['a', 'b', 'c'], [['a', 'c'], ['b', 'c']]);
        const { executionId } = await start(nodes);
        await commit(executionId, 'a', { takes: ['c'] });
        const before = await store.getExecution(executionId);
        const eventsBefore = await fx.events.replay(executionId);
        const again = await store.initExecution({ executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, input: { other: true }, nodes, at: LATER });
        expect(again).toEqual({ created: false, status: 'running', ready: ['b'], events: [] });
        expect(await store.getExecution(executionId)).toEqual(before);
        expect(await fx.events.replay(executionId)).toEqual(eventsBefore);
      });

      it('starts the root it is asked to in the same step: running, announced after execution.started, not ready', async () => {
        const nodes = graph(['a', 'b', 'c'], [['a', 'c'], ['b', 'c']]);
        const executionId = randomUUID();
        const up = completed({ deep: ['x', 1] });
        const init = (startRoot: { nodeId: string; workerId: string; readResultsOf: string[] }, at = AT) => store.initExecution({
          executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, input: { topic: 'ü' }, nodes, at, presetResults: { up }, startRoot,
        });
        const created = await init({ nodeId: 'a', workerId: 'w7', readResultsOf: ['up', 'absent'] });
        expect(created).toMatchObject({ created: true, status: 'running', ready: ['b'], root: { nodeId: 'a', input: { topic: 'ü' }, results: { up } } });
        expect(created.events.map((e) => [e.type, e.nodeId ?? null])).toEqual([['execution.started', null], ['node.started', 'a']]);
        expect(created.events[1]).toMatchObject({ at: AT, data: { attempt: 1, workerId: 'w7' } });
        expect(await fx.events.replay(executionId)).toEqual(created.events);
        const hot = await store.getExecution(executionId);
        expect(hot?.nodes.a).toMatchObject({ status: 'running', attempts: 1, workerId: 'w7', startedAt: AT });
        expect(hot?.nodes.b?.status).toBe('queued');
        // A redelivered init starts nothing: the root is answered ready again, as any open root.
        const again = await init({ nodeId: 'a', workerId: 'w8', readResultsOf: [] }, LATER);
        expect(again).toEqual({ created: false, status: 'running', ready: ['a', 'b'], events: [] });
        expect((await store.getExecution(executionId))?.nodes.a).toMatchObject({ workerId: 'w7' });
        // Only a root is started that way.
        const other = await store.initExecution({ executionId: randomUUID(), workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, input: {}, nodes, at: AT, startRoot: { nodeId: 'c', workerId: 'w7', readResultsOf: [] } });
        expect(other.root).toBeUndefined();
        expect(other.ready).toEqual(['a', 'b']);
        expect(types(other.events)).toEqual(['execution.started']);
      });

      it('writes nothing for an execution ended before its hot state existed, and answers how it ended', async () => {
        const nodes = graph(['a', 'b'], [['a', 'b']]);
        const init = (executionId: string) => store.initExecution({ executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, input: {}, nodes, at: LATER });
        const cancelled = randomUUID();
        expect(await store.cancelExecution({ executionId: cancelled, at: AT })).toEqual({ kind: 'missing' });
        expect(await init(cancelled)).toEqual({ created: false, status: 'cancelled', ready: [], events: [] });
        expect(await store.getExecution(cancelled)).toBeNull();
        expect(await fx.events.replay(cancelled)).toEqual([]);
        const timedOut = randomUUID();
        await store.cancelExecution({ executionId: timedOut, at: AT, endAs: { status: 'failed', error: { code: 'execution_timeout', category: 'permanent', message: 'late' } } });
        expect(await init(timedOut)).toMatchObject({ created: false, status: 'failed' });
        // The mark goes with the execution's keys; another execution is not concerned.
        await store.deleteExecutions([cancelled]);
        expect(await init(cancelled)).toMatchObject({ created: true, status: 'running' });
        expect(await init(randomUUID())).toMatchObject({ created: true, status: 'running', ready: ['a'] });
      });
    });

    describe('preset results (single-node runs)', () => {
      async function startSingle(presetResults: Record<string, NodeResult>) {
        const executionId = randomUUID();
        const init = await store.initExecution({
          executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, input: { topic: 't' }, nodes: graph(['summary'], []), at: AT, presetResults,
        });
        return { executionId, init };
      }

      it('are read by startNode like upstream results, without counting as nodes or emitting events', async () => {
        const research = { ...completed('newest research'), usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7, reasoningTokens: 0, cachedTokens: 0 } };
        const { executionId, init } = await startSingle({ research, other: completed(['x', { y: [] }]) });
        expect(init).toMatchObject({ created: true, status: 'running', ready: ['summary'] });
        expect(types(init.events)).toEqual(['execution.started']);
        const started = await store.startNode({ executionId, nodeId: 'summary', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: ['research', 'other', 'absent'] });
        expect(started.kind).toBe('started');
        if (started.kind !== 'started') return;
        expect(started.results).toEqual({ research, other: completed(['x', { y: [] }]) });
        // Only the single node is part of the execution: the commit of it ends the execution.
        expect(Object.keys((await store.getExecution(executionId))?.nodes ?? {})).toEqual(['summary']);
        const done = await commit(executionId, 'summary', { takes: [] });
        expect(done).toMatchObject({ committed: true, ready: [], finished: true, executionStatus: 'completed' });
        const hot = await store.getExecution(executionId);
        expect(Object.keys(hot?.nodes ?? {})).toEqual(['summary']);
        expect(types(await fx.events.replay(executionId))).toEqual(['execution.started', 'node.started:summary', 'node.completed:summary', 'execution.completed']);
      });

      it('ignores a preset for a node of the graph, and a redelivered init writes no preset', async () => {
        const { executionId } = await startSingle({ summary: completed('stale'), research: completed('r1') });
        const hot = await store.getExecution(executionId);
        expect(hot?.nodes.summary).toMatchObject({ status: 'queued', result: null });
        const again = await store.initExecution({
          executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, input: null, nodes: graph(['summary'], []), at: LATER,
          presetResults: { research: completed('r2') },
        });
        expect(again).toEqual({ created: false, status: 'running', ready: ['summary'], events: [] });
        const started = await store.startNode({ executionId, nodeId: 'summary', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: ['research'] });
        expect(started.kind === 'started' ? started.results : null).toEqual({ research: completed('r1') });
      });
    });

    describe('startNode', () => {
      it('marks the node running and returns the input and the requested upstream results', async () => {
        const { executionId } = await start(graph(['a', 'b', 'c'], [['a', 'c'], ['b', 'c']]), { topic: 'x', n: [1, 2] });
        await commit(executionId, 'a', { takes: ['c'] });
        const started = await store.startNode({ executionId, nodeId: 'b', attempt: 2, workerId: 'w7', at: LATER, readResultsOf: ['a', 'b'] });
        expect(started.kind).toBe('started');
        if (started.kind !== 'started') return;
        expect(started.input).toEqual({ topic: 'x', n: [1, 2] });
        expect(started.results).toEqual({ a: completed('a-out') });
        expect(started.events).toHaveLength(1);
        expect(started.events[0]).toMatchObject({ type: 'node.started', nodeId: 'b', at: LATER, data: { attempt: 2, workerId: 'w7' } });
        const hot = await store.getExecution(executionId);
        expect(hot?.nodes.b).toEqual({ status: 'running', attempts: 2, startedAt: LATER, workerId: 'w7', result: null });
      });

      it('answers missing, node-terminal and execution-ended', async () => {
        const base = { attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] };
        expect(await store.startNode({ ...base, executionId: randomUUID(), nodeId: 'a' })).toEqual({ kind: 'missing' });
        const { executionId } = await start(graph(['a', 'b'], []));
        await commit(executionId, 'a', { takes: [] });
        expect(await store.startNode({ ...base, executionId, nodeId: 'a' })).toEqual({ kind: 'node-terminal' });
        const other = await start(graph(['a', 'b'], []));
        await commit(other.executionId, 'a', { takes: [], result: failed(), fail: true });
        expect(await store.startNode({ ...base, executionId: other.executionId, nodeId: 'b' })).toEqual({ kind: 'execution-ended', status: 'failed' });
      });
    });

    describe('commitNode', () => {
      it('runs a chain to completion', async () => {
        const { executionId } = await start(graph(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']]));
        const r1 = await commit(executionId, 'a', { takes: ['b'] });
        expect(r1).toMatchObject({ committed: true, ready: ['b'], skipped: [], executionStatus: 'running', finished: false });
        expect(types(r1.events)).toEqual(['node.completed:a']);
        expect((await bodiesOf(fx.events, executionId, r1.events))[0]?.data).toEqual({ output: 'a-out', usage: null, cost: null, pricing: null, pricedAs: null, attempts: 1, runtimeMs: 7, provider: 'openai', model: 'gpt-4o' });
        expect((await commit(executionId, 'b', { takes: ['c'] })).ready).toEqual(['c']);
        const r3 = await commit(executionId, 'c', { takes: [] });
        expect(r3).toMatchObject({ committed: true, ready: [], executionStatus: 'completed', finished: true });
        expect(types(r3.events)).toEqual(['node.completed:c', 'execution.completed']);
        expect((await bodiesOf(fx.events, executionId, r3.events))[1]?.data).toEqual({ status: 'completed' });
        const hot = await store.getExecution(executionId);
        expect(hot?.status).toBe('completed');
        expect(hot?.finishedAt).toBe(LATER);
      });

      it('makes a diamond fan-in ready only after both parents, exactly once', async () => {
        const { executionId } = await start(graph(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]));
        expect((await commit(executionId, 'a', { takes: ['b', 'c'] })).ready).toEqual(['b', 'c']);
        expect((await commit(executionId, 'b', { takes: ['d'] })).ready).toEqual([]);
        expect((await store.getExecution(executionId))?.nodes.d?.status).toBe('pending');
        expect((await commit(executionId, 'c', { takes: ['d'] })).ready).toEqual(['d']);
        expect((await store.getExecution(executionId))?.nodes.d?.status).toBe('queued');
        const last = await commit(executionId, 'd', { takes: [] });
        expect(last.finished).toBe(true);
      });

      it('answers a redelivered commit with the same ready children and writes nothing', async () => {
        const { executionId } = await start(graph(['a', 'b', 'c', 'd'], [['a', 'b'], ['a', 'c'], ['a', 'd']]));
        const first = await commit(executionId, 'a', { takes: ['b', 'c'] });
        const before = await store.getExecution(executionId);
        const eventsBefore = await fx.events.replay(executionId);
        const again = await commit(executionId, 'a', { takes: ['d'], result: completed('changed') });
        expect(again).toEqual({ committed: false, ready: first.ready, skipped: [], executionStatus: 'running', finished: false, events: [], settledMaps: [], round: 0 });
        expect(await store.getExecution(executionId)).toEqual(before);
        expect(await fx.events.replay(executionId)).toEqual(eventsBefore);
        // A child already terminal is no longer announced.
        await commit(executionId, 'b', { takes: [] });
        expect((await commit(executionId, 'a', { takes: [] })).ready).toEqual(['c']);
      });

      it('skips an untaken branch and propagates across a fan-in that still runs', async () => {
        // a → b, a → c, b → d, c → d, c → e; a takes only b.
        const { executionId } = await start(graph(['a', 'b', 'c', 'd', 'e'], [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd'], ['c', 'e']]));
        const r1 = await commit(executionId, 'a', { takes: ['b'] });
        expect(r1).toMatchObject({ committed: true, ready: ['b'], skipped: ['c', 'e'], finished: false });
        expect(types(r1.events)).toEqual(['node.completed:a', 'node.skipped:c', 'node.skipped:e']);
        expect((await bodiesOf(fx.events, executionId, r1.events))[1]?.data).toEqual({});
        let hot = await store.getExecution(executionId);
        expect(hot?.nodes.c).toEqual({ status: 'skipped', attempts: 0, startedAt: null, workerId: null, result: SKIPPED });
        expect(hot?.nodes.d?.status).toBe('pending');
        expect((await commit(executionId, 'b', { takes: ['d'] })).ready).toEqual(['d']);
        const last = await commit(executionId, 'd', { takes: [] });
        expect(last).toMatchObject({ finished: true, executionStatus: 'completed' });
        hot = await store.getExecution(executionId);
        expect(Object.fromEntries(Object.entries(hot?.nodes ?? {}).map(([id, n]) => [id, n.status])))
          .toEqual({ a: 'completed', b: 'completed', c: 'skipped', d: 'completed', e: 'skipped' });
      });

      it('completes in the commit whose skips leave nothing to run', async () => {
        const { executionId } = await start(graph(['cond', 'yes', 'after'], [['cond', 'yes'], ['yes', 'after']]));
        const r = await commit(executionId, 'cond', { takes: [] });
        expect(r).toMatchObject({ ready: [], skipped: ['yes', 'after'], finished: true, executionStatus: 'completed' });
        expect(types(r.events)).toEqual(['node.completed:cond', 'node.skipped:yes', 'node.skipped:after', 'execution.completed']);
      });

      it('fails the execution once and stops further readiness', async () => {
        const { executionId } = await start(graph(['a', 'b', 'c', 'd'], [['a', 'c'], ['b', 'd']]));
        const f = await commit(executionId, 'a', { takes: [], result: failed(), fail: true });
        expect(f).toMatchObject({ committed: true, ready: [], skipped: [], executionStatus: 'failed', finished: true });
        expect(types(f.events)).toEqual(['node.failed:a', 'execution.failed']);
        const [nodeFailed, executionFailed] = await bodiesOf(fx.events, executionId, f.events);
        expect(nodeFailed?.data).toEqual({ error: failed().error, attempts: 1, runtimeMs: 7 });
        expect(executionFailed?.data).toEqual({ status: 'failed', error: { ...failed().error, nodeId: 'a' } });

        const late = await commit(executionId, 'b', { takes: ['d'] });
        expect(late).toMatchObject({ committed: true, ready: [], skipped: [], executionStatus: 'failed', finished: false });
        expect(types(late.events)).toEqual(['node.completed:b']);
        const hot = await store.getExecution(executionId);
        expect(hot?.status).toBe('failed');
        expect(hot?.nodes.b?.result?.output).toBe('b-out');
        expect(hot?.nodes.d?.status).toBe('pending');
        const all = await fx.events.replay(executionId);
        expect(all.filter((e) => e.type === 'execution.failed')).toHaveLength(1);
      });

      it('rejects a commit without hot state with EXECUTION_STATE_MISSING', async () => {
        await expect(commit(randomUUID(), 'a', { takes: [] })).rejects.toMatchObject({ code: 'EXECUTION_STATE_MISSING' });
      });

      it('rejects a node that is not in the graph and writes nothing', async () => {
        const { executionId } = await start(graph(['a'], []));
        await expect(commit(executionId, 'zz', { takes: [] })).rejects.toMatchObject({ code: 'INTERNAL_ERROR', category: 'permanent' });
        expect((await store.getExecution(executionId))?.status).toBe('running');
      });
    });

    describe('events', () => {
      it('appends in order with increasing ids; replay(afterId) is exclusive', async () => {
        const { executionId, init } = await start(graph(['a', 'b'], [['a', 'b']]));
        const s = await store.startNode({ executionId, nodeId: 'a', attempt: 1, workerId: 'w1', at: LATER, readResultsOf: [] });
        const c1 = await commit(executionId, 'a', { takes: ['b'] });
        const c2 = await commit(executionId, 'b', { takes: [] });
        // Init and start answer their events whole, commits in brief.
        const whole = [...init.events, ...(s.kind === 'started' ? s.events : [])];
        const all = await fx.events.replay(executionId);
        expect(all.slice(0, whole.length)).toEqual(whole);
        expect(eventSummaries(all.slice(whole.length))).toEqual([...c1.events, ...c2.events]);
        expect(types(all)).toEqual(['execution.started', 'node.started:a', 'node.completed:a', 'node.completed:b', 'execution.completed']);
        for (let i = 1; i < all.length; i += 1) expect(compareEventIds(all[i - 1]!.id, all[i]!.id)).toBeLessThan(0);
        expect(await fx.events.replay(executionId, all[1]!.id)).toEqual(all.slice(2));
        expect(await fx.events.replay(executionId, all.at(-1)!.id)).toEqual([]);
        expect(await fx.events.replay(randomUUID(), all[0]!.id)).toEqual([]);
      });

      it('delivers the events it appends to subscribers', async () => {
        const seen: WeftEvent[] = [];
        const unsubscribe = await fx.events.subscribe((e) => seen.push(e));
        try {
          const { executionId, init } = await start(graph(['a'], []));
          const c = await commit(executionId, 'a', { takes: [] });
          const mine = () => seen.filter((e) => e.executionId === executionId);
          await waitFor(() => mine().length >= 3, { timeoutMs: 5000 });
          expect(mine().slice(0, init.events.length)).toEqual(init.events);
          expect(eventSummaries(mine().slice(init.events.length))).toEqual(c.events);
        } finally {
          await unsubscribe();
        }
      });
    });

    describe('getExecution and expireExecution', () => {
      it('returns null for an unknown execution', async () => {
        expect(await store.getExecution(randomUUID())).toBeNull();
      });

      it('returns every node, terminal ones with their result', async () => {
        const { executionId } = await start(graph(['a', 'b', 'c'], [['a', 'b'], ['a', 'c']]), { q: 'why' });
        await store.startNode({ executionId, nodeId: 'a', attempt: 1, workerId: 'w1', at: AT, readResultsOf: [] });
        await commit(executionId, 'a', { takes: ['b'] });
        expect(await store.getExecution(executionId)).toEqual({
          executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, status: 'running', input: { q: 'why' },
          startedAt: AT, finishedAt: null,
          nodes: {
            a: { status: 'completed', attempts: 1, startedAt: AT, workerId: 'w1', result: completed('a-out') },
            b: { status: 'queued', attempts: 0, startedAt: null, workerId: null, result: null },
            c: { status: 'skipped', attempts: 0, startedAt: null, workerId: null, result: SKIPPED },
          },
        });
      });

      it('stores a missing input as null', async () => {
        const executionId = randomUUID();
        await store.initExecution({ executionId, workspaceId: 'ws1', flowId: 'fl1', flowVersion: 2, input: undefined, nodes: graph(['a'], []), at: AT });
        expect((await store.getExecution(executionId))?.input).toBeNull();
      });

      it('drops an ended execution\'s hot state and events once expired (a TTL of 0 expires at once)', async () => {
        const { executionId } = await start(graph(['a'], []));
        // Live (running, or re-opened by a retry since it ended): no TTL.
        expect(await store.expireExecution(executionId, 0)).toBe(false);
        expect(await store.getExecution(executionId)).not.toBeNull();
        await commit(executionId, 'a', { takes: [] });
        expect(await store.expireExecution(executionId, 0)).toBe(true);
        expect(await store.getExecution(executionId)).toBeNull();
        expect(await fx.events.replay(executionId)).toEqual([]);
      });
    });
  });
}
