/**
 * The decisions of execution hot state — init, node start, node commit with readiness and skip
 * propagation — written once, on a plain in-memory state. The memory StateStore calls these
 * functions; the Redis StateStore's Lua scripts (adapters/redis/lua/) are their port and the
 * shared conformance suite holds both to the same behaviour.
 *
 * Every function is pure: it never mutates the state it is given and returns the next state
 * (a copy) with the outcome, so a caller that throws half-way has changed nothing.
 */
import { WeftError } from '../errors/weft-error.js';
import type { CommitNodeInput, EagerRequest, EagerStart, EventDraft, InitExecutionInput, StartNodeInput } from '../model/index.js';
import { isLive, type HotExecution, type HotNodeState, type NodeResult } from '../model/index.js';
import {
  cloneState,
  draft,
  executionStartedData,
  mutable,
  nodeResultEvent,
  nodeStartedData,
  pendingStatus,
  queuedStatus,
  runningStatus,
  type CommitOutcome,
  type ExecutionState,
  type InitOutcome,
  type NodeStatusEntry,
  type StartOutcome,
  type Transition,
} from './hot-state.js';
import { parseMapItemNodeId } from '../flow/map-node.js';
import { endMapWithExecution, mapItemKey, mapRound, propagateMapEnd, queuedItemNodes, settleMapItem } from './apply-map.js';
import { recordSoftFailure } from './map-items.js';
import { completeIfDone, countEdgesOnly, failExecution, noDecisions, propagate, type Decisions } from './propagate.js';

export * from './hot-state.js';

// ---- Transitions.

/** Writes hot state for a new execution; on an existing one (redelivered job) changes nothing. */
export function applyInit(state: ExecutionState | undefined, input: InitExecutionInput): Transition<InitOutcome> {
  if (state) {
    const ready = input.nodes.filter((n) => n.parentCount === 0 && !state.results.has(n.id)).map((n) => n.id);
    return { state, outcome: { created: false, status: state.status, ready, events: [] } };
  }
  const statuses = new Map<string, NodeStatusEntry>();
  const pending = new Map<string, number>();
  const children = new Map<string, readonly string[]>();
  const ready: string[] = [];
  const presets = presetEntries(input);
  for (const node of input.nodes) {
    const root = node.parentCount === 0;
    statuses.set(node.id, root ? queuedStatus() : pendingStatus());
    pending.set(node.id, node.parentCount);
    children.set(node.id, [...node.children]);
    if (root) ready.push(node.id);
  }
  const next: ExecutionState = {
    executionId: input.executionId,
    workspaceId: input.workspaceId,
    flowId: input.flowId,
    flowVersion: input.flowVersion,
    status: 'running',
    input: input.input,
    startedAt: input.at,
    finishedAt: null,
    total: input.nodes.length,
    remaining: input.nodes.length,
    statuses,
    results: new Map(presets),
    pending,
    taken: new Map(),
    children,
    presets: presets.map(([id]) => id),
    maps: new Map(),
    items: new Map(),
  };
  const started = draft(next, { type: 'execution.started', at: input.at, data: executionStartedData(input.flowVersion) });
  const root = input.startRoot;
  if (!root || !ready.includes(root.nodeId)) return { state: next, outcome: { created: true, status: 'running', ready, events: [started] } };
  const rootStart = markStarted(next, { ...root, attempt: 1, at: input.at, item: undefined });
  return {
    state: next,
    outcome: {
      created: true, status: 'running', ready: ready.filter((id) => id !== root.nodeId), events: [started, rootStart.event],
      root: { nodeId: root.nodeId, input: input.input, results: rootStart.results },
    },
  };
}

/** The preset results that apply: those of ids outside the graph, in a stable order. */
export function presetEntries(input: Pick<InitExecutionInput, 'nodes' | 'presetResults'>): Array<[string, NodeResult]> {
  const graph = new Set(input.nodes.map((n) => n.id));
  return Object.entries(input.presetResults ?? {}).filter(([id]) => !graph.has(id));
}

/** Marks a node running, unless the execution or the node is already over. */
export function applyStart(state: ExecutionState | undefined, input: StartNodeInput): { state: ExecutionState | undefined; outcome: StartOutcome } {
  if (!state) return { state, outcome: { kind: 'missing' } };
  const item = input.mapItem;
  // A map item's node is gone when its item was reset (retry) after its job was enqueued.
  if (item && (!state.children.has(input.nodeId) || (state.maps.get(item.mapId)?.round ?? 0) !== item.round)) {
    return { state, outcome: { kind: 'gone' } };
  }
  assertKnownNode(state, input.nodeId);
  if (!isLive(state.status)) return { state, outcome: { kind: 'execution-ended', status: state.status } };
  if (state.results.has(input.nodeId)) return { state, outcome: { kind: 'node-terminal' } };
  const next = cloneState(state);
  const started = markStarted(next, { ...input, item: item ? mapItemKey(item.mapId, item.index) : undefined });
  return { state: next, outcome: { kind: 'started', input: state.input, results: started.results, events: [started.event], ...started.value } };
}

/**
 * Marks a node running in `next` (a transition's own state) and reads what it needs: the results
 * it reads, its map item's value (`item`: the item's key) and its node.started event. Shared by
 * applyStart and the eager start of applyCommit.
 */
function markStarted(next: ExecutionState, input: Pick<StartNodeInput, 'nodeId' | 'attempt' | 'workerId' | 'at' | 'readResultsOf'> & { item: string | undefined }): {
  results: Record<string, NodeResult>; event: EventDraft; value: { item?: unknown };
} {
  mutable(next.statuses).set(input.nodeId, runningStatus(input));
  const results: Record<string, NodeResult> = {};
  for (const id of input.readResultsOf) {
    const result = next.results.get(id);
    if (result) results[id] = result;
  }
  const event = draft(next, { type: 'node.started', nodeId: input.nodeId, at: input.at, data: nodeStartedData(input) });
  return { results, event, value: input.item === undefined ? {} : { item: next.items.get(input.item) ?? null } };
}

/**
 * Eager dispatch: the first `max` candidates this commit made ready are started for the
 * committing worker, taken out of `ready` and leased to its job. Their node.started events come
 * after the commit's own, in the candidates' order.
 */
function startEager(next: ExecutionState, eager: EagerRequest, at: string, round: number, d: Decisions): EagerStart[] {
  const started: EagerStart[] = [];
  const max = Math.max(1, eager.max ?? 1);
  for (const candidate of eager.candidates) {
    if (started.length >= max) break;
    if (!d.ready.includes(candidate.nodeId)) continue;
    started.push(startOneEager(next, eager, candidate, at, round, d));
  }
  return started;
}

function startOneEager(next: ExecutionState, eager: EagerRequest, chosen: EagerRequest['candidates'][number], at: string, round: number, d: Decisions): EagerStart {
  d.ready.splice(d.ready.indexOf(chosen.nodeId), 1);
  const item = chosen.mapItem;
  const started = markStarted(next, {
    nodeId: chosen.nodeId, attempt: 1, workerId: eager.workerId, at, readResultsOf: chosen.readResultsOf,
    item: item ? mapItemKey(item.mapId, item.index) : undefined,
  });
  const leases = new Map(next.leases ?? []);
  leases.set(chosen.nodeId, eager.leaseJobId);
  next.leases = leases;
  d.events.push(started.event);
  return {
    nodeId: chosen.nodeId, input: next.input, results: started.results, ...started.value,
    ...(item ? { mapItem: { ...item, round } } : {}),
  };
}

/**
 * Commits a node's result and decides what it unblocks: children whose last pending parent this
 * was become ready when at least one incoming edge was taken, and skipped (propagating to their
 * own children) when none was. A map item's node may end its item, release the next item and end
 * the map (apply-map.ts). A redelivered commit (result already stored) changes nothing but still
 * answers what should be enqueued, so a crash between commit and enqueue heals on redelivery.
 */
export function applyCommit(state: ExecutionState | undefined, input: CommitNodeInput): Transition<CommitOutcome> {
  if (!state) {
    throw new WeftError('EXECUTION_STATE_MISSING', `no hot state for execution ${input.executionId}`);
  }
  assertKnownNode(state, input.nodeId);
  const { at, nodeId } = input;
  const round = mapRound(state, nodeId);
  if (state.results.has(nodeId)) {
    return {
      state,
      outcome: { committed: false, ready: healReady(state, nodeId), skipped: [], executionStatus: state.status, finished: false, events: [], settledMaps: [], round },
    };
  }

  const next = cloneState(state);
  const statuses = mutable(next.statuses);
  const d = noDecisions();

  mutable(next.results).set(nodeId, input.result);
  statuses.delete(nodeId);
  next.remaining -= 1;
  d.events.push(draft(next, { ...nodeResultEvent(input.result), nodeId, at }));

  const outcome = (finished: boolean): Transition<CommitOutcome> => {
    // Only a child of a commit that left the execution live can start.
    const [eager, ...eagerMore] = input.eager && !finished && isLive(next.status) ? startEager(next, input.eager, at, round, d) : [];
    return {
      state: next,
      outcome: {
        committed: true, ready: d.ready, skipped: d.skipped, executionStatus: next.status, finished, events: d.events, settledMaps: d.settled, round,
        ...(eager ? { eager } : {}),
        ...(eagerMore.length > 0 ? { eagerMore } : {}),
      },
    };
  };
  // A wait resolved: once no node waits any more, the execution is running again.
  if (next.status === 'waiting' && ![...statuses.values()].some((e) => e.status === 'waiting')) {
    next.status = 'running';
    d.events.push(draft(next, { type: 'execution.resumed', at, data: { nodeId } }));
  }
  const takes = new Set(input.takenChildren);
  if (!isLive(next.status)) {
    countEdgesOnly(next, nodeId, takes);
    return outcome(false);
  }
  if (input.failExecution) {
    countEdgesOnly(next, nodeId, takes);
    endMapWithExecution(next, nodeId, at, d);
    failExecution(next, input.result, nodeId, at, d);
    return outcome(true);
  }
  propagate(next, nodeId, takes, at, d);
  if (input.soft) recordSoftFailure(next, nodeId, takes);
  const end = settleMapItem(next, nodeId, at, d);
  if (end && propagateMapEnd(next, end, at, d)) return outcome(true);
  return outcome(completeIfDone(next, at, d));
}

/**
 * What a redelivered commit re-announces: the node's ready children and, for a map item's node,
 * its map's queued item nodes and (when the map has ended) the map's ready children.
 */
function healReady(state: ExecutionState, nodeId: string): string[] {
  const ready = readyChildren(state, nodeId);
  const item = parseMapItemNodeId(nodeId);
  if (item) {
    ready.push(...queuedItemNodes(state, item.mapId));
    if (state.results.has(item.mapId)) ready.push(...readyChildren(state, item.mapId));
  }
  return [...new Set(ready)];
}

/**
 * What should be enqueued after a node that is already terminal (a redelivered job whose node
 * committed before its worker died); reads only. With `leaseJobId` (the redelivered job), also
 * what ran under it by eager dispatch: each such node still open, and what each one that ended
 * made ready (its own enqueues may have been lost with the worker). Undefined when the execution
 * has no hot state.
 */
export function applyReadyAfter(state: ExecutionState | undefined, nodeId: string, leaseJobId?: string): { ready: string[]; round: number } | undefined {
  if (!state) return undefined;
  assertKnownNode(state, nodeId);
  const ready = healReady(state, nodeId);
  if (leaseJobId !== undefined) {
    // Sorted: the Lua twin reads the leases hash, whose order Redis does not keep.
    const leased = [...(state.leases ?? [])].filter(([, job]) => job === leaseJobId).map(([id]) => id).sort();
    for (const id of leased) ready.push(...(state.results.has(id) ? healReady(state, id) : [id]));
  }
  return { ready: [...new Set(ready)], round: mapRound(state, nodeId) };
}

/** Children of `nodeId` that are ready and not terminal (what a redelivered commit re-announces). */
export function readyChildren(state: ExecutionState, nodeId: string): string[] {
  const ready: string[] = [];
  for (const child of state.children.get(nodeId) ?? []) {
    if (ready.includes(child) || state.results.has(child)) continue;
    if (state.pending.get(child) === 0 && (state.taken.get(child) ?? 0) > 0) ready.push(child);
  }
  return ready;
}

/** The parts of hot state a HotExecution is built from (what Redis reads: meta, status, results). */
export type ExecutionView = Omit<ExecutionState, 'total' | 'remaining' | 'pending' | 'taken' | 'children' | 'maps' | 'items'>;

export function toHotExecution(view: ExecutionView): HotExecution {
  const nodes: Record<string, HotNodeState> = {};
  for (const [id, entry] of view.statuses) {
    nodes[id] = {
      status: entry.status, attempts: entry.attempts, startedAt: entry.startedAt, workerId: entry.workerId, result: null,
      ...(entry.tokenHash === undefined ? {} : { waitTokenHash: entry.tokenHash }),
    };
  }
  const presets = new Set(view.presets);
  for (const [id, result] of view.results) {
    if (presets.has(id)) continue;
    nodes[id] = { status: result.status, attempts: result.attempts, startedAt: result.startedAt, workerId: result.workerId, result };
  }
  return {
    executionId: view.executionId,
    workspaceId: view.workspaceId,
    flowId: view.flowId,
    flowVersion: view.flowVersion,
    status: view.status,
    input: view.input,
    startedAt: view.startedAt,
    finishedAt: view.finishedAt,
    nodes,
    ...(view.error ? { error: view.error } : {}),
  };
}

function assertKnownNode(state: ExecutionState, nodeId: string): void {
  if (!state.children.has(nodeId)) {
    // Retrying cannot make a node appear in a pinned graph.
    throw new WeftError('INTERNAL_ERROR', `node ${nodeId} is not part of execution ${state.executionId}`, { category: 'permanent' });
  }
}

