/**
 * How a map ends in hot state: its result (the items' slots in input order, or failed), the end
 * of an item that releases the next or ends the map, a failure that ends it with the execution,
 * and the cut of running maps by a cancel or timeout. Pure; the Lua port is
 * includes/map-result.lua and includes/map-end.lua.
 */
import { mapItemNodeId, parseMapItemNodeId } from '../flow/map-node.js';
import type { EventDraft, NodeError, NodeResult } from '../model/index.js';
import { draft, mutable, nodeResultEvent, nodeSkippedData, skippedResult, type ExecutionState } from './hot-state.js';
import { fillWindow, itemFailure, setItem } from './map-items.js';
import type { MapRecord } from './map-record.js';
import { countEdgesOnly, failExecution, propagate, type Decisions } from './propagate.js';

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
export function itemFailedError(index: number, failure: NodeError & { nodeId: string }): NodeError {
  return { code: 'map_item_failed', category: failure.category, message: `item ${index} failed at '${failure.nodeId}': ${failure.message}` };
}

/** The map node's result when it ends: the slots in input order, or failed with `error`. */
export function mapResult(next: ExecutionState, mapId: string, record: MapRecord, at: string, error: NodeError | null): NodeResult {
  const entry = next.statuses.get(mapId);
  const startedAt = entry?.startedAt ?? null;
  const base = {
    usage: null, cost: null, attempts: entry?.attempts ?? 1, input: { count: record.count, concurrency: record.concurrency },
    provider: null, model: null, workerId: entry?.workerId ?? null, startedAt, finishedAt: at, runtimeMs: elapsedMs(startedAt, at),
  };
  // A map cut by its execution's cancel is cancelled, as its running item nodes are.
  if (error) return { ...base, status: error.code === 'node_cancelled' ? 'cancelled' : 'failed', output: null, error: { code: error.code, category: error.category, message: error.message } };
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
export function endMap(next: ExecutionState, mapId: string, record: MapRecord, at: string, error: NodeError | null, d: Decisions): NodeResult {
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
