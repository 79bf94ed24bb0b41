/**
 * The EventBus conformance suite: every adapter runs it (event-bus.test.ts). Live delivery,
 * per-execution order, replay since an id, and events appended by the paired StateStore.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareEventIds } from '../../shared/src/engine/event-ids.js';
import type { EventDraft, EventFrame, WeftEvent } from '../../shared/src/model/index.js';
import type { EventBus } from '../../shared/src/ports/event-bus.js';
import type { StateStore } from '../../shared/src/ports/state-store.js';
import { waitFor } from '../helpers/wait-for.js';

export interface EventBusFixture {
  bus: EventBus;
  /** A store that appends its events to `bus`. */
  store: StateStore;
  cleanup(): Promise<void>;
}

const AT = '2025-01-01T00:00:00.000Z';

function draft(executionId: string, overrides: Partial<EventDraft> = {}): EventDraft {
  return { type: 'node.token', executionId, flowId: 'fl1', workspaceId: 'ws1', nodeId: 'a', at: AT, data: { delta: 'hi' }, ...overrides };
}


function expectIncreasing(events: readonly WeftEvent[]): void {
  for (let i = 1; i < events.length; i += 1) expect(compareEventIds(events[i - 1]!.id, events[i]!.id)).toBeLessThan(0);
}

export function eventBusContract(name: string, makeBus: () => Promise<EventBusFixture>): void {
  describe(`EventBus contract: ${name}`, () => {
    let fx: EventBusFixture;
    let bus: EventBus;
    beforeEach(async () => {
      fx = await makeBus();
      bus = fx.bus;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('publishes an event with a stream id and replays it', async () => {
      const executionId = randomUUID();
      const published = await bus.publish(draft(executionId, { data: { delta: 'x', n: 1.5, nested: { list: [1, 'two', null] } } }));
      expect(published.id).toMatch(/^\d+-\d+$/);
      expect(published).toEqual({ id: published.id, ...draft(executionId, { data: { delta: 'x', n: 1.5, nested: { list: [1, 'two', null] } } }) });
      expect(await bus.replay(executionId)).toEqual([published]);
    });

    it('keeps an event without nodeId without one', async () => {
      const executionId = randomUUID();
      const { nodeId: _omit, ...rest } = draft(executionId, { type: 'execution.queued', data: {} });
      const published = await bus.publish(rest);
      expect('nodeId' in published).toBe(false);
      const [replayed] = await bus.replay(executionId);
      expect(replayed).toEqual(published);
      expect(replayed && 'nodeId' in replayed).toBe(false);
    });

    it('delivers to subscribers and replays per execution in order, across executions and workspaces', async () => {
      const ex1 = randomUUID();
      const ex2 = randomUUID();
      const seen: WeftEvent[] = [];
      const unsubscribe = await bus.subscribe((e) => seen.push(e));
      const published: WeftEvent[] = [];
      for (let i = 0; i < 20; i += 1) {
        published.push(await bus.publish(draft(ex1, { data: { i } })));
        published.push(await bus.publish(draft(ex2, { workspaceId: 'ws2', data: { i } })));
      }
      const mine = (ex: string) => seen.filter((e) => e.executionId === ex);
      await waitFor(() => mine(ex1).length === 20 && mine(ex2).length === 20, { timeoutMs: 5000 });
      await unsubscribe();
      for (const ex of [ex1, ex2]) {
        const expected = published.filter((e) => e.executionId === ex);
        expect(mine(ex)).toEqual(expected);
        expect(await bus.replay(ex)).toEqual(expected);
        expectIncreasing(expected);
      }
      expect(mine(ex2).every((e) => e.workspaceId === 'ws2')).toBe(true);
    });

    it('replays after an id exclusively, and nothing for an unknown execution', async () => {
      const executionId = randomUUID();
      const events: WeftEvent[] = [];
      for (let i = 0; i < 5; i += 1) events.push(await bus.publish(draft(executionId, { data: { i } })));
      expect(await bus.replay(executionId, events[0]!.id)).toEqual(events.slice(1));
      expect(await bus.replay(executionId, events[3]!.id)).toEqual(events.slice(4));
      expect(await bus.replay(executionId, events[4]!.id)).toEqual([]);
      expect(await bus.replay(executionId, '0-0')).toEqual(events);
      expect(await bus.replay(randomUUID())).toEqual([]);
      expect(await bus.replay(randomUUID(), events[2]!.id)).toEqual([]);
    });

    it('rejects a replay id that is not an event id with INVALID_REQUEST', async () => {
      await expect(bus.replay(randomUUID(), 'not-an-id')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    });

    it('stops delivering to an unsubscribed handler, and survives a throwing one', async () => {
      const executionId = randomUUID();
      const kept: WeftEvent[] = [];
      const dropped: WeftEvent[] = [];
      const unsubThrowing = await bus.subscribe(() => {
        throw new Error('faulty subscriber');
      });
      const unsubKept = await bus.subscribe((e) => kept.push(e));
      const unsubDropped = await bus.subscribe((e) => dropped.push(e));
      await bus.publish(draft(executionId, { data: { n: 1 } }));
      await waitFor(() => kept.length === 1 && dropped.length === 1, { timeoutMs: 5000 });
      await unsubDropped();
      await bus.publish(draft(executionId, { data: { n: 2 } }));
      await waitFor(() => kept.length === 2, { timeoutMs: 5000 });
      expect(dropped).toHaveLength(1);
      await unsubKept();
      await unsubThrowing();
    });

    it('delivers the same events as frames: routing fields and the event JSON, one frame for every frame handler', async () => {
      const first: EventFrame[] = [];
      const second: EventFrame[] = [];
      const offFirst = await bus.subscribeFrames((f) => first.push(f));
      const offSecond = await bus.subscribeFrames((f) => second.push(f));
      const executionId = randomUUID();
      await fx.store.initExecution({
        executionId, workspaceId: 'ws4', flowId: 'fl', flowVersion: 1, input: null, at: AT,
        nodes: [{ id: 'a', parentCount: 0, children: [] }],
      });
      await fx.store.startNode({ executionId, nodeId: 'a', attempt: 1, workerId: 'w', at: AT, readResultsOf: [] });
      // Text a client must get back intact: quotes, a line break, a slash, non-ASCII.
      await bus.publish({ type: 'node.token', executionId, flowId: 'fl', workspaceId: 'ws4', nodeId: 'a', at: AT, data: { delta: 'say "hi"\n/ünï \u2028' } });
      await fx.store.commitNode({
        executionId, nodeId: 'a', takenChildren: [], failExecution: false, soft: false, at: AT,
        result: { status: 'completed', output: { text: 'x' }, error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: 'w', startedAt: AT, finishedAt: AT, runtimeMs: 1 },
      });
      const mine = (frames: EventFrame[]) => frames.filter((f) => f.executionId === executionId);
      await waitFor(() => mine(first).length === 5 && mine(second).length === 5, { timeoutMs: 5000 });
      await offFirst();
      await offSecond();
      const replayed = await bus.replay(executionId);
      expect(mine(first).map((f) => JSON.parse(f.json) as unknown)).toEqual(replayed);
      expect(mine(first).map(({ id, type, executionId: ex, flowId, workspaceId, at }) => ({ id, type, executionId: ex, flowId, workspaceId, at })))
        .toEqual(replayed.map(({ id, type, executionId: ex, flowId, workspaceId, at }) => ({ id, type, executionId: ex, flowId, workspaceId, at })));
      expect(mine(first).every((f) => !/[\r\n]/.test(f.json))).toBe(true);
      // Serialised once: both handlers hold the same frame.
      mine(first).forEach((f, i) => { expect(mine(second)[i]).toBe(f); });
    });

    it('delivers the events the state store appends, in order, with the ids replay gives', async () => {
      const seen: WeftEvent[] = [];
      const unsubscribe = await bus.subscribe((e) => seen.push(e));
      const executionId = randomUUID();
      await fx.store.initExecution({
        executionId, workspaceId: 'ws3', flowId: 'fl', flowVersion: 1, input: null, at: AT,
        nodes: [{ id: 'a', parentCount: 0, children: ['b'] }, { id: 'b', parentCount: 1, children: [] }],
      });
      await fx.store.startNode({ executionId, nodeId: 'a', attempt: 1, workerId: 'w', at: AT, readResultsOf: [] });
      const token = await bus.publish({ type: 'node.token', executionId, flowId: 'fl', workspaceId: 'ws3', nodeId: 'a', at: AT, data: { delta: 'x' } });
      await fx.store.commitNode({
        executionId, nodeId: 'a', takenChildren: [], failExecution: false, soft: false, at: AT,
        result: { status: 'completed', output: 'x', error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: 'w', startedAt: AT, finishedAt: AT, runtimeMs: 1 },
      });
      const mine = () => seen.filter((e) => e.executionId === executionId);
      await waitFor(() => mine().length === 6, { timeoutMs: 5000 });
      await unsubscribe();
      const replayed = await bus.replay(executionId);
      expect(mine()).toEqual(replayed);
      expect(replayed.map((e) => e.type)).toEqual(['execution.started', 'node.started', 'node.token', 'node.completed', 'node.skipped', 'execution.completed']);
      expect(replayed[2]).toEqual(token);
      expectIncreasing(replayed);
    });
  });
}
