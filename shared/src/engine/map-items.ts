/**
 * A map's items in hot state: the record's item marks (`.` not released yet, `r` running, `c`
 * completed, `f` failed), releasing an item (creating its nodes `<map>[<index>].<node>`),
 * resetting one for a retry (undoing the edges its soft failures took, as recorded), the window of `concurrency` running items, why an item failed, and
 * which item nodes are running or queued. Pure; the Lua port is includes/map-items.lua.
 */
import { mapItemNodeId, parseMapItemNodeId } from '../flow/map-node.js';
import type { StartMapInput } from '../model/index.js';
import type { NodeError, NodeStatus } from '../model/index.js';
import { draft, mutable, nodeSkippedData, ownedChildren, pendingStatus, queuedStatus, skippedResult, type ExecutionState } from './hot-state.js';
import type { MapRecord } from './map-record.js';
import type { Decisions } from './propagate.js';

/** The key of an item's value in hot state (`<map>[<index>]`). */
export function mapItemKey(mapId: string, index: number): string {
  return `${mapId}[${index}]`;
}


export function setItem(record: MapRecord, index: number, mark: string): void {
  record.items = record.items.slice(0, index) + mark + record.items.slice(index + 1);
}

/** Each sub-graph node's parents (local ids), from the record's children lists. */
export function parentsOf(record: MapRecord): Map<string, string[]> {
  const parents = new Map<string, string[]>(record.nodes.map((n) => [n.id, []]));
  for (const node of record.nodes) for (const child of node.children) parents.get(child)?.push(node.id);
  return parents;
}

/**
 * Marks an item running and creates its nodes that have no result (all of them, unless a retry
 * kept some): in sub-graph order, a node whose parents are all terminal is queued when it has
 * no parent or a taken edge, and skipped otherwise; the others wait for their parents.
 *
 * An item re-released by a retry may have nothing left to run: its last nodes committed after
 * its map had ended, and what is not completed is a branch not taken, skipped again here. No
 * commit would ever end such an item, so it ends here, completed (it holds no failed node: a
 * retry removed those results), and takes no place in the window.
 */
export function releaseItem(next: ExecutionState, mapId: string, record: MapRecord, index: number, at: string, d: Decisions): void {
  const statuses = mutable(next.statuses);
  const results = mutable(next.results);
  const pending = mutable(next.pending);
  const children = ownedChildren(next);
  const parents = parentsOf(record);
  let open = false;
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
      open = true;
    } else if (node.parentCount === 0 || (next.taken.get(id) ?? 0) > 0) {
      statuses.set(id, queuedStatus());
      d.ready.push(id);
      open = true;
    } else {
      results.set(id, skippedResult(at));
      next.remaining -= 1;
      d.skipped.push(id);
      d.events.push(draft(next, { type: 'node.skipped', nodeId: id, at, data: nodeSkippedData() }));
    }
  }
  if (open) {
    setItem(record, index, 'r');
    record.active += 1;
  } else {
    setItem(record, index, 'c');
  }
}

/**
 * Readies an item to run again (a retry): its completed nodes keep their results; the others
 * lose theirs, and the edges a soft failure took (as its commit recorded them) are undone, so
 * that releasing the item again decides them afresh. An item whose last commits landed after
 * its map had ended may have nothing left to run: its release ends it (releaseItem).
 */
export function resetItem(next: ExecutionState, mapId: string, record: MapRecord, index: number): void {
  const results = mutable(next.results);
  const taken = mutable(next.taken);
  const undone = new Set<string>();
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
      for (const child of record.softTaken?.[id] ?? []) taken.set(child, (taken.get(child) ?? 0) - 1);
      undone.add(id);
    }
    mutable(next.pending).delete(id);
  }
  // The record is the caller's copy: its soft failures are replaced, never edited in place.
  const kept = Object.entries(record.softTaken ?? {}).filter(([id]) => !undone.has(id));
  if (kept.length > 0) record.softTaken = Object.fromEntries(kept);
  else delete record.softTaken;
  setItem(record, index, '.');
}

/**
 * A map item's node failed softly (commitIntent's soft): its map's record keeps the edges that
 * failure took, so that the item's end does not count it and a retry undoes exactly those.
 */
export function recordSoftFailure(next: ExecutionState, nodeId: string, takes: ReadonlySet<string>): void {
  const item = parseMapItemNodeId(nodeId);
  const stored = item ? next.maps.get(item.mapId) : undefined;
  if (!item || stored?.state !== 'running') return;
  const taken = (next.children.get(nodeId) ?? []).filter((child) => takes.has(child));
  mutable(next.maps).set(item.mapId, { ...stored, softTaken: { ...stored.softTaken, [nodeId]: taken } });
}

/** Releases waiting items, in input order, while fewer than `concurrency` run. */
export function fillWindow(next: ExecutionState, mapId: string, record: MapRecord, at: string, d: Decisions): void {
  while (record.active < record.concurrency) {
    const index = record.items.indexOf('.');
    if (index === -1) return;
    releaseItem(next, mapId, record, index, at, d);
  }
}

/** Why an item failed: its output node's error, else its first node (in sub-graph order) that failed hard. */
export function itemFailure(next: ExecutionState, mapId: string, record: MapRecord, index: number): (NodeError & { nodeId: string }) | null {
  const output = next.results.get(mapItemNodeId(mapId, index, record.output));
  if (output?.status === 'failed' && output.error) return { ...output.error, nodeId: mapItemNodeId(mapId, index, record.output) };
  for (const node of record.nodes) {
    const id = mapItemNodeId(mapId, index, node.id);
    if (record.softTaken?.[id]) continue;
    const result = next.results.get(id);
    if (result?.status === 'failed' && result.error) return { ...result.error, nodeId: id };
  }
  return null;
}

/** Nodes of running items with the given status, in item then sub-graph order. */
export function itemNodesWithStatus(state: ExecutionState, mapId: string, record: MapRecord, status: NodeStatus): string[] {
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
