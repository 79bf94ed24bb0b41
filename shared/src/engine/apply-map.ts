/**
 * Map nodes in hot state, as pure functions over ExecutionState: expanding a started map
 * (applyStartMap) and ending one whose timeoutMs elapsed (applyTimeoutMap). What a commit of an
 * item's node does to its map (settleMapItem, called by applyCommit: the item ends when all its
 * nodes are terminal, the next item is released, the map ends when every item has or one failed
 * it) is in map-end.ts; the items themselves in map-items.ts. The Lua scripts start-map.lua,
 * timeout-map.lua and commit-node.lua are the ports; the state-store conformance suite holds
 * both to it.
 *
 * An item's nodes live in the execution's graph under ids `<map>[<index>].<node>`, created when
 * the item is released (so at most `concurrency` items' nodes are live at once) and run as
 * ordinary node jobs. The map record keeps one character per item: `.` not released yet, `r`
 * running, `c` completed, `f` failed.
 */
import type { StartMapInput, StartMapResult, TimeoutMapResult } from '../model/index.js';
import { isLive, type NodeError } from '../model/index.js';
import { cloneState, mutable, ownedItems, type Drafted, type ExecutionState } from './hot-state.js';
import type { MapRecord } from './map-record.js';
import { completeIfDone, noDecisions } from './propagate.js';
import { endMap, propagateMapEnd } from './map-end.js';
import { fillWindow, itemNodesWithStatus, mapItemKey, newMapRecord, queuedItemNodes, resetItem } from './map-items.js';

// The parts of map handling that apply-commit and apply-control use, and the engine exports.
export { cutRunningMaps, endMapWithExecution, propagateMapEnd, settleMapItem, type MapEnd } from './map-end.js';
export { mapItemKey, mapRound, newMapRecord, queuedItemNodes } from './map-items.js';

export type TimeoutMapOutcome = Drafted<TimeoutMapResult>;

/**
 * A map still running when its timeoutMs elapsed (the round its timer was set in) ends failed
 * with `error`, as an item's failure would end it: its unstarted item nodes are skipped, its
 * running ones answered (to abort), and the failure flows on or fails the execution.
 */
export function applyTimeoutMap(state: ExecutionState | undefined, input: { nodeId: string; round: number; at: string; error: NodeError }): { state: ExecutionState | undefined; outcome: TimeoutMapOutcome } {
  if (!state) return { state, outcome: { kind: 'missing' } };
  const stored = state.maps.get(input.nodeId);
  if (!isLive(state.status) || stored?.state !== 'running' || stored.round !== input.round) {
    return { state, outcome: { kind: 'not-running' } };
  }
  const next = cloneState(state);
  const record = { ...stored };
  mutable(next.maps).set(input.nodeId, record);
  const running = itemNodesWithStatus(next, input.nodeId, record, 'running');
  const d = noDecisions();
  const result = endMap(next, input.nodeId, record, input.at, input.error, d);
  const finished = propagateMapEnd(next, { mapId: input.nodeId, result, failExecution: record.failExecution }, input.at, d) || completeIfDone(next, input.at, d);
  return {
    state: next,
    outcome: { kind: 'ended', running, ready: d.ready, settledMaps: d.settled, executionStatus: next.status, finished, events: d.events },
  };
}

export type StartMapOutcome = Drafted<StartMapResult>;

/**
 * Expands a started map node (see StateStore.startMap). The map's own end (no items, or every
 * item already completed) is answered in `end` for the caller to propagate like a commit.
 */
export function applyStartMap(state: ExecutionState | undefined, input: StartMapInput): { state: ExecutionState | undefined; outcome: StartMapOutcome } {
  if (!state) return { state, outcome: { kind: 'missing' } };
  if (!isLive(state.status)) return { state, outcome: { kind: 'execution-ended', status: state.status } };
  if (state.results.has(input.nodeId)) return { state, outcome: { kind: 'node-terminal' } };
  const stored = state.maps.get(input.nodeId);
  const d = noDecisions();
  if (stored?.state === 'running') {
    const ready = queuedItemNodes(state, input.nodeId);
    return { state, outcome: { kind: 'started', ready, round: stored.round, resumed: true, reset: 0, settledMaps: [], executionStatus: state.status, finished: false, events: [] } };
  }
  const next = cloneState(state);
  let record: MapRecord;
  let reset = 0;
  if (stored) {
    // Re-opened by a retry: completed items stand, the others run again in a new round.
    record = { ...stored, state: 'running', active: 0, round: stored.round + 1 };
    for (let index = 0; index < record.count; index += 1) {
      if (record.items[index] === 'c' || record.items[index] === '.') continue;
      resetItem(next, input.nodeId, record, index);
      reset += 1;
    }
  } else {
    record = newMapRecord(input);
    const items = ownedItems(next);
    input.items.forEach((value, index) => items.set(mapItemKey(input.nodeId, index), value));
  }
  mutable(next.maps).set(input.nodeId, record);
  fillWindow(next, input.nodeId, record, input.at, d);
  let finished = false;
  if (record.active === 0) {
    // No items, or every one already completed: the map ends here, as a commit would end it.
    const result = endMap(next, input.nodeId, record, input.at, null, d);
    finished = propagateMapEnd(next, { mapId: input.nodeId, result, failExecution: false }, input.at, d) || completeIfDone(next, input.at, d);
  }
  return {
    state: next,
    outcome: { kind: 'started', ready: d.ready, round: record.round, resumed: false, reset, settledMaps: d.settled, executionStatus: next.status, finished, events: d.events },
  };
}
