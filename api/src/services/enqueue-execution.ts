/**
 * What follows the insert of an execution row, for every way of starting one (a flow run, a
 * single-node run): publish execution.queued, enqueue the execution job, and with `wait`
 * await the end and answer the document.
 */
import type { ExecutionRow } from '@weft/db/repos';
import { TERMINAL_EXECUTION_STATUSES } from '@weft/shared/engine';
import { WeftError, toWeftError } from '@weft/shared/errors';
import { executionJob } from '@weft/shared/jobs';
import type { Logger } from '@weft/shared/logging';
import type { ApiDeps } from '../deps.js';
import type { EventHub } from '../events/event-hub.js';
import { loadExecutionView, type ExecutionView } from './execution-view.js';

export type EnqueuedExecution =
  | { code: 200; body: ExecutionView }
  | { code: 202; body: { executionId: string; status: string } };

/**
 * Publishes and enqueues a freshly created (or idempotently replayed) execution. With
 * `waitTimeoutMs` it answers 200 with the document when the execution ends in time, else 202.
 */
export async function enqueueExecution(input: {
  deps: ApiDeps;
  hub: EventHub;
  log: Logger;
  execution: ExecutionRow;
  created: boolean;
  waitTimeoutMs: number | null;
}): Promise<EnqueuedExecution> {
  const { deps, execution, created, log } = input;
  const { workspaceId, flowId } = execution;
  // Register the waiter before enqueueing so a fast execution cannot end unseen.
  const waiter = input.waitTimeoutMs === null ? null : input.hub.waitForEnd({ workspaceId, executionId: execution.id, timeoutMs: input.waitTimeoutMs });
  try {
    if (created) {
      await deps.events.publish({
        type: 'execution.queued', executionId: execution.id, flowId, workspaceId,
        at: execution.createdAt.toISOString(),
        data: { flowVersion: execution.flowVersion, ...(execution.singleNodeId === null ? {} : { singleNodeId: execution.singleNodeId }) },
      });
    }
    // Also for an idempotent replay of a still-queued execution: heals a crash between
    // the insert and the enqueue (the job id dedupes).
    if (execution.status === 'queued') await deps.queue.add(executionJob({ executionId: execution.id, workspaceId }));
  } catch (err) {
    waiter?.cancel();
    log.error({ err, executionId: execution.id }, 'execution stored but not enqueued');
    throw new WeftError('DEPENDENCY_UNAVAILABLE', 'the queue is unavailable; retry with the same Idempotency-Key', { cause: toWeftError(err), retryAfterMs: 1000 });
  }
  if (created) {
    deps.metrics.executionsTotal.inc({ status: 'queued' });
    log.info({ executionId: execution.id, flowId, flowVersion: execution.flowVersion, singleNodeId: execution.singleNodeId }, 'execution queued');
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
