/**
 * What a node's end does to the graph after it — readiness and skip propagation, the
 * execution's completion or failure — shared by a commit (apply-commit.ts) and a map's end
 * (apply-map.ts). Mutates a state fresh from cloneState; the Lua scripts walk in the same order.
 */
import type { SettledMap } from '../model/index.js';
import type { EventDraft, NodeResult } from '../model/index.js';
import {
  draft,
  executionCompletedData,
  executionFailedData,
  mutable,
  nodeSkippedData,
  queuedStatus,
  skippedResult,
  type ExecutionState,
} from './hot-state.js';

/** Where a transition collects what it decided, in order. */
export interface Decisions {
  events: EventDraft[];
  ready: string[];
  skipped: string[];
  settled: SettledMap[];
}

export function noDecisions(): Decisions {
  return { events: [], ready: [], skipped: [], settled: [] };
}

/**
 * Breadth-first over (parent, edges it takes): children whose last pending parent this was
 * become ready when at least one incoming edge was taken, and skipped (propagating to their own
 * children) when none was.
 */
export function propagate(next: ExecutionState, parent: string, takes: ReadonlySet<string>, at: string, d: Decisions): void {
  const statuses = mutable(next.statuses);
  const results = mutable(next.results);
  const pending = mutable(next.pending);
  const taken = mutable(next.taken);
  const queue: Array<{ parent: string; takes: ReadonlySet<string> }> = [{ parent, takes }];
  const none: ReadonlySet<string> = new Set();
  for (let step = queue.shift(); step; step = queue.shift()) {
    for (const child of next.children.get(step.parent) ?? []) {
      const left = (pending.get(child) ?? 0) - 1;
      pending.set(child, left);
      if (step.takes.has(child)) taken.set(child, (taken.get(child) ?? 0) + 1);
      if (left !== 0 || results.has(child)) continue;
      if ((taken.get(child) ?? 0) > 0) {
        statuses.set(child, queuedStatus());
        d.ready.push(child);
      } else {
        results.set(child, skippedResult(at));
        statuses.delete(child);
        next.remaining -= 1;
        d.skipped.push(child);
        d.events.push(draft(next, { type: 'node.skipped', nodeId: child, at, data: nodeSkippedData() }));
        queue.push({ parent: child, takes: none });
      }
    }
  }
}

/**
 * Counts a node's edges without deciding anything: once the execution has ended (or this end
 * ends it) the children's counts are still kept, so that re-opening a failed node later finds
 * them exact, but nothing becomes ready or skipped.
 */
export function countEdgesOnly(next: ExecutionState, parent: string, takes: ReadonlySet<string>): void {
  const pending = mutable(next.pending);
  const taken = mutable(next.taken);
  for (const child of next.children.get(parent) ?? []) {
    pending.set(child, (pending.get(child) ?? 0) - 1);
    if (takes.has(child)) taken.set(child, (taken.get(child) ?? 0) + 1);
  }
}

export function failExecution(next: ExecutionState, result: NodeResult, nodeId: string, at: string, d: Decisions): void {
  next.status = 'failed';
  next.finishedAt = at;
  d.events.push(draft(next, { type: 'execution.failed', at, data: executionFailedData(result, nodeId) }));
}

/** Completes the execution when no node is left; answers whether it did. */
export function completeIfDone(next: ExecutionState, at: string, d: Decisions): boolean {
  if (next.remaining !== 0) return false;
  next.status = 'completed';
  next.finishedAt = at;
  d.events.push(draft(next, { type: 'execution.completed', at, data: executionCompletedData() }));
  return true;
}
