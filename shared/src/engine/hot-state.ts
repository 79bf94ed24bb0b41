/**
 * Execution hot state as the pure transitions see it (apply-commit, apply-control, apply-map),
 * and the record and event shapes they share with the Redis adapter.
 */
import type { CommitNodeResult, InitExecutionResult, StartNodeInput, StartNodeResult } from '../model/transitions.js';
import type { ExecutionState, NodeStatusEntry } from '../model/hot-state.js';
import type { EventDraft, EventType, WeftEvent } from '../model/events.js';
import type { NodeResult } from '../model/node-result.js';

export type { ExecutionState, NodeStatusEntry } from '../model/hot-state.js';

/** A port result whose events are still drafts (whole, as the event bus needs them): the bus assigns the ids. */
export type Drafted<T> = T extends { events: ReadonlyArray<Pick<WeftEvent, 'type'>> } ? Omit<T, 'events'> & { events: EventDraft[] } : T;

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
          // Added fields: how `cost` was priced (null for nodes that call no model).
          pricing: result.pricing ?? null,
          pricedAs: result.pricedAs ?? null,
          attempts: result.attempts,
          runtimeMs: result.runtimeMs,
          provider: result.provider,
          model: result.model,
        },
      };
    case 'failed':
      return { type: 'node.failed', data: { error: result.error, attempts: result.attempts, runtimeMs: result.runtimeMs } };
    case 'cancelled':
      return { type: 'node.cancelled', data: { error: result.error, attempts: result.attempts, runtimeMs: result.runtimeMs } };
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

export function draft(
  state: ExecutionState,
  event: { type: EventType; nodeId?: string; at: string; data: Record<string, unknown> },
): EventDraft {
  const base = { type: event.type, executionId: state.executionId, flowId: state.flowId, workspaceId: state.workspaceId };
  return event.nodeId === undefined
    ? { ...base, at: event.at, data: event.data }
    : { ...base, nodeId: event.nodeId, at: event.at, data: event.data };
}

export function cloneState(state: ExecutionState): ExecutionState {
  return {
    ...state,
    statuses: new Map(state.statuses),
    results: new Map(state.results),
    pending: new Map(state.pending),
    taken: new Map(state.taken),
    maps: new Map(state.maps),
    // Children and items change only when a map expands or releases an item: shared until then
    // (ownedChildren and ownedItems copy them on the first write of a transition).
    children: state.children,
  };
}

/** The maps of a state fresh from cloneState are owned by the transition building it. */
export function mutable<K, V>(map: ReadonlyMap<K, V>): Map<K, V> {
  return map as Map<K, V>;
}

/**
 * Which state a copied map belongs to: the state being built by a transition owns the copies it
 * made; a later transition's state (cloneState shares the map) does not, and copies again.
 */
const owners = new WeakMap<ReadonlyMap<string, unknown>, ExecutionState>();

function own<V>(next: ExecutionState, map: ReadonlyMap<string, V>): { map: Map<string, V>; copied: boolean } {
  if (owners.get(map) === next) return { map: map as Map<string, V>, copied: false };
  const copy = new Map(map);
  owners.set(copy, next);
  return { map: copy, copied: true };
}

/**
 * The state's `children`, copied on the first write of a transition (cloneState shares it): the
 * state a transition started from is never changed, even by the rare writes that grow the graph.
 */
export function ownedChildren(next: ExecutionState): Map<string, readonly string[]> {
  const { map, copied } = own(next, next.children);
  if (copied) next.children = map;
  return map;
}

/** The state's map items, copied on the first write of a transition, as ownedChildren. */
export function ownedItems(next: ExecutionState): Map<string, unknown> {
  const { map, copied } = own(next, next.items);
  if (copied) next.items = map;
  return map;
}
