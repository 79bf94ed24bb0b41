/**
 * What follows the insert of an execution row, for every way of starting one (a flow run, a
 * single-node run): the engine publishes and enqueues it, and with `wait` the api awaits the
 * end and answers the document.
 */
import { TERMINAL_EXECUTION_STATUSES, type ExecutionStatus } from '@weft/shared/model';
import type { CreatedExecution } from '@weft/shared/run-engine';
import type { ApiDeps } from '../deps.js';
import type { EventHub } from '../events/event-hub.js';
import { loadExecutionView, type ExecutionView } from './execution-view.js';

export type EnqueuedExecution =
  | { code: 200; body: ExecutionView }
  | { code: 202; body: { executionId: string; status: ExecutionStatus } };

/**
 * Enqueues a freshly created (or idempotently replayed) execution. With `waitTimeoutMs` it
 * answers 200 with the document when the execution ends in time, else 202.
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
  const waiter = input.waitTimeoutMs === null ? null : input.hub.waitForEnd({ workspaceId, executionId: execution.id, timeoutMs: input.waitTimeoutMs });
  try {
    await deps.engine.enqueue(input.created);
  } catch (err) {
    waiter?.cancel();
    throw err;
  }
  if (waiter) {
    const alreadyOver = TERMINAL_EXECUTION_STATUSES.has(execution.status);
    const ended = alreadyOver || (await waiter.done);
    if (alreadyOver) waiter.cancel();
    if (ended) {
      const view = await loadExecutionView({ repos: deps.database.repos, state: deps.state, workspaceId, executionId: execution.id });
      if (view && TERMINAL_EXECUTION_STATUSES.has(view.status)) return { code: 200, body: view };
    }
  }
  return { code: 202, body: { executionId: execution.id, status: execution.status } };
}
