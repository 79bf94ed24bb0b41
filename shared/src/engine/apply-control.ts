/**
 * Transitions that steer an execution from outside its nodes' own commits — wait, cancel,
 * re-open — as pure functions over ExecutionState. The memory adapter applies them; the Lua
 * scripts (wait-node, cancel-execution, reopen-nodes) are their ports.
 */
import { endedUnfinished, isLive, type EventDraft, type ExecutionStatus, type NodeError } from '../model/index.js';
import { cloneState, draft, mutable, pendingStatus, queuedStatus, type ExecutionState } from './hot-state.js';
import { cutRunningMaps } from './apply-map.js';

export type WaitOutcome =
  | { kind: 'waiting'; events: EventDraft[] }
  | { kind: 'missing' }
  | { kind: 'node-terminal' }
  | { kind: 'execution-ended'; status: ExecutionStatus };

/**
 * A wait node suspends: its status becomes waiting (with its resume token's hash), the
 * execution waits, and node.waiting (with `data`, e.g. the plaintext token) and
 * execution.waiting are appended. Other branches keep running.
 */
export function applyWait(state: ExecutionState | undefined, input: { nodeId: string; at: string; tokenHash: string | null; data: Record<string, unknown> }): { state: ExecutionState | undefined; outcome: WaitOutcome } {
  if (!state) return { state, outcome: { kind: 'missing' } };
  if (!isLive(state.status)) return { state, outcome: { kind: 'execution-ended', status: state.status } };
  if (state.results.has(input.nodeId)) return { state, outcome: { kind: 'node-terminal' } };
  const next = cloneState(state);
  const statuses = mutable(next.statuses);
  const previous = statuses.get(input.nodeId);
  statuses.set(input.nodeId, {
    status: 'waiting', attempts: previous?.attempts ?? 1, startedAt: previous?.startedAt ?? input.at, workerId: previous?.workerId ?? null,
    ...(input.tokenHash === null ? {} : { tokenHash: input.tokenHash }),
  });
  const events = [draft(next, { type: 'node.waiting', nodeId: input.nodeId, at: input.at, data: input.data })];
  if (next.status !== 'waiting') {
    next.status = 'waiting';
    events.push(draft(next, { type: 'execution.waiting', at: input.at, data: { nodeId: input.nodeId } }));
  }
  return { state: next, outcome: { kind: 'waiting', events } };
}

export type CancelOutcome =
  | { kind: 'cancelled'; running: string[]; queued: string[]; mapRounds: Record<string, number>; events: EventDraft[] }
  | { kind: 'missing' }
  | { kind: 'ended'; status: ExecutionStatus };

/**
 * Cancels a live execution: no node starts after this (startNode answers execution-ended),
 * running nodes are answered so their workers can abort them, queued ones so their jobs can
 * be removed. Results committed later are recorded but unblock nothing.
 */
export function applyCancel(state: ExecutionState | undefined, input: { at: string; endAs?: { status: 'failed'; error: NodeError } }): { state: ExecutionState | undefined; outcome: CancelOutcome } {
  if (!state) return { state, outcome: { kind: 'missing' } };
  if (!isLive(state.status)) return { state, outcome: { kind: 'ended', status: state.status } };
  const next = cloneState(state);
  next.status = input.endAs ? 'failed' : 'cancelled';
  next.finishedAt = input.at;
  if (input.endAs) next.error = input.endAs.error;
  // Running maps end failed with the execution's reason: a retry runs their unfinished items.
  const events: EventDraft[] = [];
  cutRunningMaps(next, input.at, input.endAs ? input.endAs.error : cancelledMapError(), events);
  const running: string[] = [];
  const queued: string[] = [];
  for (const [nodeId, entry] of [...next.statuses].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (entry.status === 'running') running.push(nodeId);
    else if (entry.status === 'queued') queued.push(nodeId);
  }
  events.push(input.endAs
    ? draft(next, { type: 'execution.failed', at: input.at, data: { status: 'failed', error: input.endAs.error } })
    : draft(next, { type: 'execution.cancelled', at: input.at, data: { status: 'cancelled' } }));
  const mapRounds = Object.fromEntries([...next.maps].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, record]) => [id, record.round]));
  return { state: next, outcome: { kind: 'cancelled', running, queued, mapRounds, events } };
}

/** The error of a map cut by its execution's cancel (as a running node's: node_cancelled). */
export function cancelledMapError(): NodeError {
  return { code: 'node_cancelled', category: 'permanent', message: 'the map was cancelled with its execution' };
}

export type ReopenOutcome =
  | { kind: 'reopened'; ready: string[]; events: EventDraft[] }
  | { kind: 'missing' }
  | { kind: 'not-failed'; nodeId: string };

/**
 * Re-opens failed nodes of an execution (dead-letter replay, retry): their results are removed,
 * their own commit's counts on their children undone (a failed node that ended the execution
 * took none of its edges), and the execution runs again. Ready: every node without a result
 * that is not running, whose parents are all terminal and that has a taken edge or no parent.
 */
export function applyReopen(state: ExecutionState | undefined, input: { nodeIds: readonly string[]; at: string }): { state: ExecutionState | undefined; outcome: ReopenOutcome } {
  if (!state) return { state, outcome: { kind: 'missing' } };
  for (const nodeId of input.nodeIds) {
    if (!endedUnfinished(state.results.get(nodeId)?.status)) return { state, outcome: { kind: 'not-failed', nodeId } };
  }
  const next = cloneState(state);
  const statuses = mutable(next.statuses);
  const results = mutable(next.results);
  const pending = mutable(next.pending);
  for (const nodeId of input.nodeIds) {
    results.delete(nodeId);
    statuses.set(nodeId, pendingStatus());
    next.remaining += 1;
    for (const child of next.children.get(nodeId) ?? []) pending.set(child, (pending.get(child) ?? 0) + 1);
  }
  next.status = 'running';
  next.finishedAt = null;
  const hasParent = new Set<string>();
  for (const children of next.children.values()) for (const child of children) hasParent.add(child);
  const ready: string[] = [];
  // Sorted ids: the Lua port walks the children hash in the same order.
  for (const nodeId of [...next.children.keys()].sort()) {
    if (results.has(nodeId) || statuses.get(nodeId)?.status === 'running') continue;
    if ((pending.get(nodeId) ?? 0) !== 0) continue;
    if (hasParent.has(nodeId) && (next.taken.get(nodeId) ?? 0) === 0) continue;
    statuses.set(nodeId, queuedStatus());
    ready.push(nodeId);
  }
  const events = [draft(next, { type: 'execution.resumed', at: input.at, data: { reopened: [...input.nodeIds] } })];
  return { state: next, outcome: { kind: 'reopened', ready, events } };
}
