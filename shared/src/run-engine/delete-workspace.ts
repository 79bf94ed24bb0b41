/**
 * The background half of `DELETE /v1/workspaces/:id`. The api has marked the workspace
 * `deleting` and deleted its keys; this job, run by any api instance, takes the rest away:
 * 1. its live executions are cancelled through the engine's cancel (running nodes are aborted
 *    on every worker);
 * 2. its executions' jobs leave every queue, and their hot state and event streams go;
 * 3. any other Redis key naming the workspace goes (provider rate-limit windows);
 * 4. its row goes, and with it, by cascade, every row it owns.
 * Each step is idempotent, so the job may run again after a crash or a restart (the mark stays
 * until step 4). A job of one of its executions still running on a worker re-delays the job
 * (WORKSPACE_DELETION_PENDING, no attempt spent) until it has ended.
 */
import { WeftError } from '../errors/index.js';
import type { WorkspaceDeletionJobData } from '../jobs/index.js';
import type { JobHandler } from '../ports/index.js';
import type { CancelExecution } from './control.js';
import type { EngineResources } from './resources.js';

/** Executions handled per round trip to Postgres. */
const PAGE = 500;
/** How soon a deletion that waits for running jobs looks again. */
const PENDING_RETRY_MS = 1000;

export interface WorkspaceDeletion {
  executions: number;
  cancelled: number;
  jobsRemoved: number;
  otherKeys: number;
}

export type DeleteWorkspace = (input: { workspaceId: string }) => Promise<WorkspaceDeletion>;

const LIVE: ReadonlySet<string> = new Set(['queued', 'running', 'waiting']);

export function createDeleteWorkspace(deps: EngineResources & { cancel: CancelExecution }): DeleteWorkspace {
  const log = deps.logger.child({ component: 'workspace-deletion' });
  return async ({ workspaceId }) => {
    const result: WorkspaceDeletion = { executions: 0, cancelled: 0, jobsRemoved: 0, otherKeys: 0 };
    let busy = 0;
    let afterId: string | undefined;
    for (;;) {
      const page = await deps.repos.executions.listIdsByWorkspace({ workspaceId, limit: PAGE, ...(afterId === undefined ? {} : { afterId }) });
      if (page.length === 0) break;
      afterId = page[page.length - 1]?.id;
      for (const execution of page) {
        if (!LIVE.has(execution.status)) continue;
        try {
          await deps.cancel({ workspaceId, executionId: execution.id });
          result.cancelled++;
        } catch (err) {
          // Ended meanwhile, or already cancelled by an earlier run of this job: nothing to stop.
          if (!(err instanceof WeftError) || (err.code !== 'CONFLICT' && err.code !== 'NOT_FOUND')) throw err;
        }
        // The record ends now, not when the flusher gets to it: its hot state goes below, and a
        // row left live would have the recovery sweep rebuild and re-run it.
        await deps.repos.executions.finalize({
          executionId: execution.id, status: 'cancelled', output: null, error: null, usage: null, cost: null, startedAt: null, finishedAt: deps.clock(),
        });
      }
      const ids = page.map((e) => e.id);
      const purged = await deps.queue.purgeExecutions(ids);
      result.jobsRemoved += purged.removed;
      busy += purged.busy;
      await deps.state.deleteExecutions(ids);
      result.executions += ids.length;
    }
    if (busy > 0) {
      log.info({ workspaceId, busy }, 'workspace deletion waits for running jobs of its executions');
      throw new WeftError('WORKSPACE_DELETION_PENDING', `${busy} jobs of the workspace's executions are still running`, { retryAfterMs: PENDING_RETRY_MS });
    }
    result.otherKeys = await deps.state.deleteWorkspaceKeys(workspaceId);
    const purged = await deps.repos.workspaces.purge(workspaceId);
    log.info({ workspaceId, ...result, purged }, purged ? 'workspace deleted' : 'workspace deletion: no marked workspace left to delete');
    return result;
  };
}

/** The job processor of `weft-maintenance` deletion jobs. */
export function createWorkspaceDeletionProcessor(deps: Pick<EngineResources, 'metrics'> & { deleteWorkspace: DeleteWorkspace }): JobHandler<WorkspaceDeletionJobData> {
  return async (job) => {
    try {
      await deps.deleteWorkspace({ workspaceId: job.data.workspaceId });
      deps.metrics.workspaceDeletionsTotal.inc({ event: 'completed' });
    } catch (err) {
      deps.metrics.workspaceDeletionsTotal.inc({ event: 'retried' });
      throw err;
    }
  };
}
