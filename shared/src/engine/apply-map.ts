/**
 * Map nodes in hot state, as pure functions over ExecutionState: expanding a started map
 * (applyStartMap), and what a commit of an item's node does to its map (settleMapItem, called by
 * applyCommit): the item ends when all its nodes are terminal, the next item is released, the
 * map ends when every item has (or one failed it). The Lua scripts start-map.lua and
 * commit-node.lua are the ports; the state-store conformance suite holds both to it.
 *
 * An item's nodes live in the execution's graph under ids `<map>[<index>].<node>`, created when
 * the item is released (so at most `concurrency` items' nodes are live at once) and run as
 * ordinary node jobs. The map record keeps one character per item: `.` not released yet, `r`
 * running, `c` completed, `f` failed.
 */
import { mapItemNodeId, parseMapItemNodeId } from '../flow/map-node.js';
import type { StartMapInput, StartMapResult, TimeoutMapResult } from '../model/index.js';
import { isLive, type EventDraft, type NodeError, type NodeResult, type NodeStatus } from '../model/index.js';
import {
  cloneState,
  draft,
  mutable,
  nodeResultEvent,
  nodeSkippedData,
  pendingStatus,
  queuedStatus,
  skippedResult,
  ownedChildren,
  ownedItems,
  type Drafted,
  type ExecutionState,
} from './hot-state.js';
import type { MapRecord } from './map-record.js';
import { completeIfDone, countEdgesOnly, failExecution, noDecisions, propagate, type Decisions } from './propagate.js';


/** The key of an item's value in hot state (`<map>[<index>]`). */
export function mapItemKey(mapId: string, index: number): string {
  return `${mapId}[${index}]`;
}


function setItem(record: MapRecord, index: number, mark: string): void {
  record.items = record.items.slice(0, index) + mark + record.items.slice(index + 1);
}

/** Each sub-graph node's parents (local ids), from the record's children lists. */
function parentsOf(record: MapRecord): Map<string, string[]> {
  const parents = new Map<string, string[]>(record.nodes.map((n) => [n.id, []]));
  for (const node of record.nodes) for (const child of node.children) parents.get(child)?.push(node.id);
  return parents;
}

/**
 * Marks an item running and creates its nodes that have no result (all of them, unless a retry
 * kept some): in sub-graph order, a node whose parents are all terminal is queued when it has
 * no parent or a taken edge, and skipped otherwise; the others wait for their parents.
 */
function releaseItem(next: ExecutionState, mapId: string, record: MapRecord, index: number, at: string, d: Decisions): void {
  const statuses = mutable(next.statuses);
  const results = mutable(next.results);
  const pending = mutable(next.pending);
  const children = ownedChildren(next);
  const parents = parentsOf(record);
  setItem(record, index, 'r');
  record.active += 1;
  for (const node of record.nodes) {
    const id = mapItemNodeId(mapId, index, node.id);
    if (results.has(id)) continue;
    children.set(id, node.children.map((child) => mapItemNodeId(mapId, index, child)));
    const left = (parents.get(node.id) ?? []).filter((parent) => !results.has(mapItemNodeId(mapId, index, parent))).length;
    pending.set(id, left);
    next.total += 1;
    next.remaining += 1;
    if (left > 0) {
      statuses.set(id, pendingStatus());
    } else if (node.parentCount === 0 || (next.taken.get(id) ?? 0) > 0) {
      statuses.set(id, queuedStatus());
      d.ready.push(id);
    } else {
      results.set(id, skippedResult(at));
      next.remaining -= 1;
      d.skipped.push(id);
      d.events.push(draft(next, { type: 'node.skipped', nodeId: id, at, data: nodeSkippedData() }));
    }
  }
}

/**
 * Readies an item to run again (a retry): its completed nodes keep their results; the others
 * lose theirs, and a soft failure's taken edges are undone (it took all of them, unless it
 * branches), so that releasing the item again decides them afresh.
 */
function resetItem(next: ExecutionState, mapId: string, record: MapRecord, index: number): void {
  const results = mutable(next.results);
  const taken = mutable(next.taken);
  for (const node of record.nodes) {
    const id = mapItemNodeId(mapId, index, node.id);
    const result = results.get(id);
    if (result?.status === 'completed') continue;
    if (mutable(next.statuses).delete(id)) {
      next.remaining -= 1;
      next.total -= 1;
    }
    if (result) {
      results.delete(id);
      next.total -= 1;
      if (result.status === 'failed' && node.soft && !node.branching) {
        for (const child of node.children) {
          const childId = mapItemNodeId(mapId, index, child);
          taken.set(childId, (taken.get(childId) ?? 0) - 1);
        }
      }
    }
    mutable(next.pending).delete(id);
  }
  setItem(record, index, '.');
}

/** Releases waiting items, in input order, while fewer than `concurrency` run. */
function fillWindow(next: ExecutionState, mapId: string, record: MapRecord, at: string, d: Decisions): void {
  while (record.active < record.concurrency) {
    const index = record.items.indexOf('.');
    if (index === -1) return;
    releaseItem(next, mapId, record, index, at, d);
  }
}

/** Why an item failed: its output node's error, else its first node (in sub-graph order) that failed hard. */
function itemFailure(next: ExecutionState, mapId: string, record: MapRecord, index: number): (NodeError & { nodeId: string }) | null {
  const output = next.results.get(mapItemNodeId(mapId, index, record.output));
  if (output?.status === 'failed' && output.error) return { ...output.error, nodeId: mapItemNodeId(mapId, index, record.output) };
  for (const node of record.nodes) {
    if (node.soft) continue;
    const id = mapItemNodeId(mapId, index, node.id);
    const result = next.results.get(id);
    if (result?.status === 'failed' && result.error) return { ...result.error, nodeId: id };
  }
  return null;
}

function slotOf(next: ExecutionState, mapId: string, record: MapRecord, index: number): unknown {
  if (record.items[index] === 'f') return { error: itemFailure(next, mapId, record, index) };
  const output = next.results.get(mapItemNodeId(mapId, index, record.output));
  return output?.status === 'completed' ? output.output : null;
}

/** ISO time → epoch ms (the Lua port parses the same fixed format). */
function elapsedMs(from: string | null, to: string): number | null {
  if (from === null) return null;
  return Math.max(0, Date.parse(to) - Date.parse(from));
}

/** The error of a map that an item failed. */
function itemFailedError(index: number, failure: NodeError & { nodeId: string }): NodeError {
  return { code: 'map_item_failed', category: failure.category, message: `item ${index} failed at '${failure.nodeId}': ${failure.message}` };
}

/** The map node's result when it ends: the slots in input order, or failed with `error`. */
function mapResult(next: ExecutionState, mapId: string, record: MapRecord, at: string, error: NodeError | null): NodeResult {
  const entry = next.statuses.get(mapId);
  const startedAt = entry?.startedAt ?? null;
  const base = {
    usage: null, cost: null, attempts: entry?.attempts ?? 1, input: { count: record.count, concurrency: record.concurrency },
    provider: null, model: null, workerId: entry?.workerId ?? null, startedAt, finishedAt: at, runtimeMs: elapsedMs(startedAt, at),
  };
  if (error) return { ...base, status: 'failed', output: null, error: { code: error.code, category: error.category, message: error.message } };
  const slots: unknown[] = [];
  for (let index = 0; index < record.count; index += 1) slots.push(slotOf(next, mapId, record, index));
  return { ...base, status: 'completed', output: slots, error: null };
}

/**
 * Nodes of running items that have not started yet will not, and those waiting will not be
 * resumed: they are skipped. When no node waits any more, the execution is running again.
 */
function skipUnstarted(next: ExecutionState, mapId: string, record: MapRecord, at: string, d: Decisions): void {
  const statuses = mutable(next.statuses);
  let skippedWaiting = false;
  for (let index = 0; index < record.count; index += 1) {
    if (record.items[index] !== 'r') continue;
    for (const node of record.nodes) {
      const id = mapItemNodeId(mapId, index, node.id);
      const status = statuses.get(id)?.status;
      if (status !== 'pending' && status !== 'queued' && status !== 'waiting') continue;
      if (status === 'waiting') skippedWaiting = true;
      statuses.delete(id);
      mutable(next.results).set(id, skippedResult(at));
      next.remaining -= 1;
      d.skipped.push(id);
      d.events.push(draft(next, { type: 'node.skipped', nodeId: id, at, data: nodeSkippedData() }));
    }
  }
  if (skippedWaiting && next.status === 'waiting' && ![...statuses.values()].some((e) => e.status === 'waiting')) {
    next.status = 'running';
    d.events.push(draft(next, { type: 'execution.resumed', at, data: { nodeId: mapId } }));
  }
}

/**
 * Ends a map: stores its result and announces it. The caller then lets the result flow to the
 * map's children (or fails the execution) as for any committed node.
 */
function endMap(next: ExecutionState, mapId: string, record: MapRecord, at: string, error: NodeError | null, d: Decisions): NodeResult {
  if (error) skipUnstarted(next, mapId, record, at, d);
  const result = mapResult(next, mapId, record, at, error);
  record.state = 'ended';
  mutable(next.statuses).delete(mapId);
  mutable(next.results).set(mapId, result);
  next.remaining -= 1;
  d.events.push(draft(next, { ...nodeResultEvent(result), nodeId: mapId, at }));
  d.settled.push({ nodeId: mapId, result });
  return result;
}

export type MapEnd = { mapId: string; result: NodeResult; failExecution: boolean } | null;

/**
 * A map failed as its execution ended: its edges are counted as a failed node's commit in an
 * ended execution counts them (taken only when the map continues on error), so that re-opening
 * it (retry) finds its children's counts exact.
 */
function countEndedMapEdges(next: ExecutionState, mapId: string, record: MapRecord): void {
  countEdgesOnly(next, mapId, new Set(record.failExecution ? [] : (next.children.get(mapId) ?? [])));
}

/**
 * Lets a map's end flow on as a commit's would: its failure ends the execution unless the map
 * continues on error; otherwise every out-edge is taken. Answers whether the execution ended.
 */
export function propagateMapEnd(next: ExecutionState, end: NonNullable<MapEnd>, at: string, d: Decisions): boolean {
  const takes = new Set(end.failExecution ? [] : (next.children.get(end.mapId) ?? []));
  if (end.failExecution) {
    countEdgesOnly(next, end.mapId, takes);
    failExecution(next, end.result, end.mapId, at, d);
    return true;
  }
  propagate(next, end.mapId, takes, at, d);
  return false;
}

/**
 * After a commit of an item's node (and the skips it propagated): if the item is now over,
 * record how it ended, release the next waiting item, and end the map when it is done. Answers
 * the map's end, if this was it, for the caller to propagate.
 */
export function settleMapItem(next: ExecutionState, nodeId: string, at: string, d: Decisions): MapEnd {
  const item = parseMapItemNodeId(nodeId);
  if (!item) return null;
  const { mapId, index } = item;
  const stored = next.maps.get(mapId);
  if (stored?.state !== 'running' || stored.items[index] !== 'r') return null;
  for (const node of stored.nodes) {
    if (!next.results.has(mapItemNodeId(mapId, index, node.id))) return null;
  }
  const record = { ...stored };
  mutable(next.maps).set(mapId, record);
  const failure = itemFailure(next, mapId, record, index);
  setItem(record, index, failure ? 'f' : 'c');
  record.active -= 1;
  if (failure && record.onItemError === 'fail') {
    const result = endMap(next, mapId, record, at, itemFailedError(index, failure), d);
    return { mapId, result, failExecution: record.failExecution };
  }
  fillWindow(next, mapId, record, at, d);
  if (record.active > 0) return null;
  const result = endMap(next, mapId, record, at, null, d);
  return { mapId, result, failExecution: false };
}

/**
 * An item's node failed the whole execution (a passed budget): its map ends failed with it, so
 * that a retry finds the map failed and runs its unfinished items again.
 */
export function endMapWithExecution(next: ExecutionState, nodeId: string, at: string, d: Decisions): void {
  const item = parseMapItemNodeId(nodeId);
  if (!item) return;
  const stored = next.maps.get(item.mapId);
  const result = next.results.get(nodeId);
  if (stored?.state !== 'running' || !result?.error) return;
  const record = { ...stored };
  mutable(next.maps).set(item.mapId, record);
  endMap(next, item.mapId, record, at, itemFailedError(item.index, { ...result.error, nodeId }), d);
  countEndedMapEdges(next, item.mapId, record);
}

/**
 * The cancel or timeout of an execution cuts its running maps: each ends failed with `error`
 * (its running items' nodes are being aborted), so that a retry runs their unfinished items.
 */
export function cutRunningMaps(next: ExecutionState, at: string, error: NodeError, events: EventDraft[]): string[] {
  const cut: string[] = [];
  for (const [mapId, stored] of [...next.maps].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (stored.state !== 'running') continue;
    const record = { ...stored, state: 'ended' as const };
    mutable(next.maps).set(mapId, record);
    const result = mapResult(next, mapId, record, at, error);
    mutable(next.statuses).delete(mapId);
    mutable(next.results).set(mapId, result);
    next.remaining -= 1;
    countEndedMapEdges(next, mapId, record);
    events.push(draft(next, { ...nodeResultEvent(result), nodeId: mapId, at }));
    cut.push(mapId);
  }
  return cut;
}

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

/** Nodes of running items with the given status, in item then sub-graph order. */
function itemNodesWithStatus(state: ExecutionState, mapId: string, record: MapRecord, status: NodeStatus): string[] {
  const found: string[] = [];
  for (let index = 0; index < record.count; index += 1) {
    if (record.items[index] !== 'r') continue;
    for (const node of record.nodes) {
      const id = mapItemNodeId(mapId, index, node.id);
      if (state.statuses.get(id)?.status === status) found.push(id);
    }
  }
  return found;
}

/** Queued nodes of a running map's running items: what a redelivered commit or map job re-announces. */
export function queuedItemNodes(state: ExecutionState, mapId: string): string[] {
  const record = state.maps.get(mapId);
  return record?.state === 'running' ? itemNodesWithStatus(state, mapId, record, 'queued') : [];
}

export function mapRound(state: ExecutionState, nodeId: string): number {
  const item = parseMapItemNodeId(nodeId);
  return item ? (state.maps.get(item.mapId)?.round ?? 0) : 0;
}

/** A map's record before any item is released (the Redis adapter passes it to start-map.lua). */
export function newMapRecord(input: StartMapInput): MapRecord {
  return {
    state: 'running', count: input.items.length, concurrency: input.concurrency, onItemError: input.onItemError,
    failExecution: input.failExecution, output: input.output, nodes: input.nodes, items: '.'.repeat(input.items.length), active: 0, round: 0,
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
