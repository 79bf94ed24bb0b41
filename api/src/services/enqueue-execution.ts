/**
 * What follows the insert of an execution row, for every way of starting one (a flow run, a
 * single-node run): the engine publishes and enqueues it, and with `wait` the api awaits the
 * end and answers the document.
 */
import { TERMINAL_EXECUTION_STATUSES, type EventFrame, type ExecutionStatus } from '@weft/shared/model';
import type { CreatedExecution } from '@weft/shared/run-engine';
import type { ApiDeps } from '../deps.js';
import type { EventHub } from '../events/event-hub.js';
import { loadExecutionView, type ExecutionView } from './execution-view.js';

/** A node the execution waits on, with its resume link when it waits for an approval or a webhook. */
export interface WaitingNodeView {
  nodeId: string;
  resumeUrl?: string;
  resumeUrlExpiresAt?: string;
}

export type EnqueuedExecution =
  | { code: 200; body: ExecutionView }
  | { code: 202; body: { executionId: string; status: ExecutionStatus; waiting?: WaitingNodeView[] } };

/**
 * `wait` answers at the end, or as soon as a node waits for someone: an approval or a webhook
 * (node.waiting with `event` approval|webhook). A timer or a task ends by itself: `wait` keeps
 * waiting for the end then, as for any node.
 */
function waitsForSomeone(frame: EventFrame): boolean {
  if (frame.type !== 'node.waiting') return false;
  try {
    const event = (JSON.parse(frame.json) as { data?: { event?: unknown } }).data?.event;
    return event === 'approval' || event === 'webhook';
  } catch {
    return false;
  }
}

/**
 * Enqueues a freshly created (or idempotently replayed) execution. With `waitTimeoutMs` it
 * answers 200 with the document when the execution ends in time; 202 with its status now
 * otherwise: `waiting` (with the waiting nodes and their resume links) when a node waits for an
 * approval or a webhook first.
 */
export async function enqueueExecution(input: {
  deps: ApiDeps;
  hub: EventHub;
  created: CreatedExecution;
  waitTimeoutMs: number | null;
}): Promise<EnqueuedExecution> {
  const { deps } = input;
  const { execution } = input.created;
  const { workspaceId } = execution;
  // Register the waiter before enqueueing so a fast execution cannot end unseen.
  const waiter = input.waitTimeoutMs === null ? null : input.hub.waitForEnd({ workspaceId, executionId: execution.id, timeoutMs: input.waitTimeoutMs, until: waitsForSomeone });
  try {
    await deps.engine.enqueue(input.created);
  } catch (err) {
    waiter?.cancel();
    throw err;
  }
  if (!waiter) return { code: 202, body: { executionId: execution.id, status: execution.status } };
  // An idempotent replay of a start may find the execution ended, or waiting already.
  const settled = TERMINAL_EXECUTION_STATUSES.has(execution.status) || execution.status === 'waiting';
  if (settled) waiter.cancel();
  else await waiter.done;
  // What the execution is now (not the `queued` it was created with), after its end, its wait or the timeout.
  const view = await loadExecutionView({
    repos: deps.database.repos, state: deps.state, workspaceId, executionId: execution.id, resumeLinks: deps.engine.resources.resumeLinks,
  });
  if (!view) return { code: 202, body: { executionId: execution.id, status: execution.status } };
  if (TERMINAL_EXECUTION_STATUSES.has(view.status)) return { code: 200, body: view };
  if (view.status !== 'waiting') return { code: 202, body: { executionId: execution.id, status: view.status } };
  const waiting = view.nodes.filter((n) => n.status === 'waiting').map((n) => ({
    nodeId: n.nodeId, ...(n.resumeUrl === undefined ? {} : { resumeUrl: n.resumeUrl }), ...(n.resumeUrlExpiresAt === undefined ? {} : { resumeUrlExpiresAt: n.resumeUrlExpiresAt }),
  }));
  return { code: 202, body: { executionId: execution.id, status: 'waiting', waiting } };
}
