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
import type {
  CommitNodeInput,
  CommitNodeResult,
  InitExecutionInput,
  InitExecutionResult,
  StartNodeInput,
  StartNodeResult,
} from '../ports/state-store.js';
import type {
  EventDraft,
  EventType,
  ExecutionStatus,
  HotExecution,
  HotNodeState,
  NodeError,
  NodeResult,
  NodeStatus,
  WeftEvent,
} from './types.js';

/** A non-terminal node's entry of the status hash. */
export interface NodeStatusEntry {
  status: NodeStatus;
  attempts: number;
  startedAt: string | null;
  workerId: string | null;
  /** A waiting node's resume token, hashed (sha-256 hex); the plaintext is only in node.waiting. */
  tokenHash?: string;
}

/** One execution's hot state; mirrors the Redis hashes of adapters/redis/keys.ts. */
export interface ExecutionState {
  executionId: string;
  workspaceId: string;
  flowId: string;
  flowVersion: number;
  status: ExecutionStatus;
  input: unknown;
  startedAt: string | null;
  finishedAt: string | null;
  total: number;
  /** Nodes not terminal yet; the execution completes when it reaches 0. */
  remaining: number;
  /** Non-terminal nodes only. */
  statuses: ReadonlyMap<string, NodeStatusEntry>;
  /** Terminal nodes only. */
  results: ReadonlyMap<string, NodeResult>;
  /** Incoming edges whose parent is not terminal yet. */
  pending: ReadonlyMap<string, number>;
  /** Incoming edges taken so far (absent = 0). */
  taken: ReadonlyMap<string, number>;
  /** Every node of the graph has an entry (leaves: empty). */
  children: ReadonlyMap<string, readonly string[]>;
  /** Ids of preset results (InitExecutionInput.presetResults): read by nodes, not part of the execution. */
  presets: readonly string[];
  /** Why the execution ended when no node's failure says it (execution_timeout). */
  error?: NodeError;
}

/** A port result whose events are still drafts: the event bus assigns the ids. */
export type Drafted<T> = T extends { events: WeftEvent[] } ? Omit<T, 'events'> & { events: EventDraft[] } : T;

export type InitOutcome = Drafted<InitExecutionResult>;
export type StartOutcome = Drafted<StartNodeResult>;
export type CommitOutcome = Drafted<CommitNodeResult>;

export interface Transition<T> {
  state: ExecutionState;
  outcome: T;
}

// ---- Record and event payload shapes, shared with the Redis adapter (which passes them to Lua).

export function pendingStatus(): NodeStatusEntry {
  return { status: 'pending', attempts: 0, startedAt: null, workerId: null };
}

export function queuedStatus(): NodeStatusEntry {
  return { status: 'queued', attempts: 0, startedAt: null, workerId: null };
}

export function runningStatus(input: Pick<StartNodeInput, 'attempt' | 'at' | 'workerId'>): NodeStatusEntry {
  return { status: 'running', attempts: input.attempt, startedAt: input.at, workerId: input.workerId };
}

/** The result stored for a node none of whose incoming edges was taken. */
export function skippedResult(at: string): NodeResult {
  return {
    status: 'skipped',
    output: null,
    error: null,
    usage: null,
    cost: null,
    attempts: 0,
    input: null,
    provider: null,
    model: null,
    workerId: null,
    startedAt: null,
    finishedAt: at,
    runtimeMs: null,
  };
}

export function executionStartedData(flowVersion: number): Record<string, unknown> {
  return { flowVersion };
}

export function nodeStartedData(input: Pick<StartNodeInput, 'attempt' | 'workerId'>): Record<string, unknown> {
  return { attempt: input.attempt, workerId: input.workerId };
}

/** The event announcing a committed result; its type follows the result's status. */
export function nodeResultEvent(result: NodeResult): { type: EventType; data: Record<string, unknown> } {
  switch (result.status) {
    case 'completed':
      return {
        type: 'node.completed',
        data: {
          output: result.output,
          usage: result.usage,
          cost: result.cost,
          attempts: result.attempts,
          runtimeMs: result.runtimeMs,
          provider: result.provider,
          model: result.model,
        },
      };
    case 'failed':
      return { type: 'node.failed', data: { error: result.error, attempts: result.attempts, runtimeMs: result.runtimeMs } };
    case 'skipped':
      return { type: 'node.skipped', data: nodeSkippedData() };
  }
}

export function nodeSkippedData(): Record<string, unknown> {
  return {};
}

export function executionFailedData(result: NodeResult, nodeId: string): Record<string, unknown> {
  return { status: 'failed', error: { ...result.error, nodeId } };
}

export function executionCompletedData(): Record<string, unknown> {
  return { status: 'completed' };
}

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
  };
  const started = draft(next, { type: 'execution.started', at: input.at, data: executionStartedData(input.flowVersion) });
  return { state: next, outcome: { created: true, status: 'running', ready, events: [started] } };
}

/** The preset results that apply: those of ids outside the graph, in a stable order. */
export function presetEntries(input: Pick<InitExecutionInput, 'nodes' | 'presetResults'>): Array<[string, NodeResult]> {
  const graph = new Set(input.nodes.map((n) => n.id));
  return Object.entries(input.presetResults ?? {}).filter(([id]) => !graph.has(id));
}

/** Marks a node running, unless the execution or the node is already over. */
export function applyStart(state: ExecutionState | undefined, input: StartNodeInput): { state: ExecutionState | undefined; outcome: StartOutcome } {
  if (!state) return { state, outcome: { kind: 'missing' } };
  assertKnownNode(state, input.nodeId);
  if (state.status !== 'running' && state.status !== 'waiting') return { state, outcome: { kind: 'execution-ended', status: state.status } };
  if (state.results.has(input.nodeId)) return { state, outcome: { kind: 'node-terminal' } };
  const next = cloneState(state);
  mutable(next.statuses).set(input.nodeId, runningStatus(input));
  const results: Record<string, NodeResult> = {};
  for (const id of input.readResultsOf) {
    const result = state.results.get(id);
    if (result) results[id] = result;
  }
  const started = draft(next, { type: 'node.started', nodeId: input.nodeId, at: input.at, data: nodeStartedData(input) });
  return { state: next, outcome: { kind: 'started', input: state.input, results, events: [started] } };
}

/**
 * Commits a node's result and decides what it unblocks: children whose last pending parent this
 * was become ready when at least one incoming edge was taken, and skipped (propagating to their
 * own children) when none was. A redelivered commit (result already stored) changes nothing but
 * still answers the ready children, so a crash between commit and enqueue heals on redelivery.
 */
export function applyCommit(state: ExecutionState | undefined, input: CommitNodeInput): Transition<CommitOutcome> {
  if (!state) {
    throw new WeftError('EXECUTION_STATE_MISSING', `no hot state for execution ${input.executionId}`);
  }
  assertKnownNode(state, input.nodeId);
  if (state.results.has(input.nodeId)) {
    return {
      state,
      outcome: {
        committed: false,
        ready: readyChildren(state, input.nodeId),
        skipped: [],
        executionStatus: state.status,
        finished: false,
        events: [],
      },
    };
  }

  const next = cloneState(state);
  const statuses = mutable(next.statuses);
  const results = mutable(next.results);
  const pending = mutable(next.pending);
  const taken = mutable(next.taken);
  const events: EventDraft[] = [];
  const { at, nodeId } = input;

  results.set(nodeId, input.result);
  statuses.delete(nodeId);
  next.remaining -= 1;
  events.push(draft(next, { ...nodeResultEvent(input.result), nodeId, at }));

  const ended = (finished: boolean): Transition<CommitOutcome> => ({
    state: next,
    outcome: { committed: true, ready: [], skipped: [], executionStatus: next.status, finished, events },
  });
  // Once the execution has ended (or this commit ends it), the children's counts are still kept
  // (so that re-opening a failed node later finds them exact) but nothing becomes ready or skipped.
  // A wait resolved: once no node waits any more, the execution is running again.
  if (next.status === 'waiting' && ![...statuses.values()].some((e) => e.status === 'waiting')) {
    next.status = 'running';
    events.push(draft(next, { type: 'execution.resumed', at, data: { nodeId } }));
  }
  if ((next.status !== 'running' && next.status !== 'waiting') || input.failExecution) {
    const takes = new Set(input.takenChildren);
    for (const child of next.children.get(nodeId) ?? []) {
      pending.set(child, (pending.get(child) ?? 0) - 1);
      if (takes.has(child)) taken.set(child, (taken.get(child) ?? 0) + 1);
    }
  }
  if (next.status !== 'running' && next.status !== 'waiting') return ended(false);
  if (input.failExecution) {
    next.status = 'failed';
    next.finishedAt = at;
    events.push(draft(next, { type: 'execution.failed', at, data: executionFailedData(input.result, nodeId) }));
    return ended(true);
  }

  const ready: string[] = [];
  const skipped: string[] = [];
  // Breadth-first over (parent, edges it takes); the Lua port walks in the same order so that
  // both adapters emit node.skipped events identically.
  const queue: Array<{ parent: string; takes: ReadonlySet<string> }> = [{ parent: nodeId, takes: new Set(input.takenChildren) }];
  const none: ReadonlySet<string> = new Set();
  for (let step = queue.shift(); step; step = queue.shift()) {
    const { parent, takes } = step;
    for (const child of next.children.get(parent) ?? []) {
      const left = (pending.get(child) ?? 0) - 1;
      pending.set(child, left);
      if (takes.has(child)) taken.set(child, (taken.get(child) ?? 0) + 1);
      if (left !== 0 || results.has(child)) continue;
      if ((taken.get(child) ?? 0) > 0) {
        statuses.set(child, queuedStatus());
        ready.push(child);
      } else {
        results.set(child, skippedResult(at));
        statuses.delete(child);
        next.remaining -= 1;
        skipped.push(child);
        events.push(draft(next, { type: 'node.skipped', nodeId: child, at, data: nodeSkippedData() }));
        queue.push({ parent: child, takes: none });
      }
    }
  }

  let finished = false;
  if (next.remaining === 0) {
    next.status = 'completed';
    next.finishedAt = at;
    events.push(draft(next, { type: 'execution.completed', at, data: executionCompletedData() }));
    finished = true;
  }
  return { state: next, outcome: { committed: true, ready, skipped, executionStatus: next.status, finished, events } };
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
export type ExecutionView = Omit<ExecutionState, 'total' | 'remaining' | 'pending' | 'taken' | 'children'>;

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

/** Shared with apply-control.ts. */
export function draft(
  state: ExecutionState,
  event: { type: EventType; nodeId?: string; at: string; data: Record<string, unknown> },
): EventDraft {
  const base = { type: event.type, executionId: state.executionId, flowId: state.flowId, workspaceId: state.workspaceId };
  return event.nodeId === undefined
    ? { ...base, at: event.at, data: event.data }
    : { ...base, nodeId: event.nodeId, at: event.at, data: event.data };
}

/** Shared with apply-control.ts. */
export function cloneState(state: ExecutionState): ExecutionState {
  return {
    ...state,
    statuses: new Map(state.statuses),
    results: new Map(state.results),
    pending: new Map(state.pending),
    taken: new Map(state.taken),
    // Children never change after init; sharing the map is safe.
    children: state.children,
  };
}

/** The maps of a state fresh from cloneState are owned by the transition building it. */
/** Shared with apply-control.ts. */
export function mutable<K, V>(map: ReadonlyMap<K, V>): Map<K, V> {
  return map as Map<K, V>;
}
