/**
 * Recovery sweep, in every worker:
 * - an execution recorded as queued whose job was never enqueued (the api died between the
 *   insert and the enqueue) is enqueued again. Enqueuing is idempotent — the job id is the
 *   execution id, and a job that exists is dropped;
 * - an execution running in Postgres whose hot state Redis lost is rebuilt from node_runs
 *   (restore-hot-state.ts); the write happens only where no hot state exists;
 * - an id in a workspace's in-flight set whose row is gone or ended (a release that was lost,
 *   e.g. a cancel that failed half-way) is released, so the cap cannot shrink for good.
 */
import type { Repos } from '../ports/database.js';
import { executionJob } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { JobQueue } from '../ports/index.js';
import { restoreLostHotState, type RestoreDeps } from './restore-hot-state.js';

export interface RecoverySweep {
  /** One pass; answers how many executions were re-enqueued or restored. */
  runOnce(): Promise<number>;
  stop(): void;
}

/**
 * Releases the in-flight ids whose row is gone or no longer live. A row is written before its
 * admission and deleted before a withdrawal, so a live execution is never released here.
 */
async function releaseEnded(deps: Pick<RestoreDeps, 'admission' | 'repos'>): Promise<number> {
  let released = 0;
  for (const { workspaceId, executionIds } of await deps.admission.listInFlight()) {
    for (let i = 0; i < executionIds.length; i += 500) {
      const chunk = executionIds.slice(i, i + 500);
      const live = await deps.repos.executions.liveAmong(chunk);
      const ended = chunk.filter((id) => !live.has(id));
      await Promise.all(ended.map((executionId) => deps.admission.release({ workspaceId, executionId })));
      released += ended.length;
    }
  }
  return released;
}

export function startRecoverySweep(deps: RestoreDeps & {
  repos: Pick<Repos, 'executions' | 'nodeRuns'>;
  queue: JobQueue;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
  intervalMs: number;
  /** Only executions queued longer than this are touched: a normal start enqueues within ms. */
  minAgeMs: number;
}): RecoverySweep {
  const log = deps.logger.child({ component: 'recovery-sweep' });
  let running = false;
  const runOnce = async (): Promise<number> => {
    const before = new Date(deps.clock().getTime() - deps.minAgeMs);
    const stale = await deps.repos.executions.listQueuedBefore({ before, limit: 100 });
    if (stale.length > 0) {
      await deps.queue.addBulk(stale.map((row) => executionJob({ executionId: row.id, workspaceId: row.workspaceId })));
      deps.metrics.recoveredTotal.inc({ kind: 'queued_execution' }, stale.length);
      log.info({ count: stale.length, executionIds: stale.slice(0, 10).map((r) => r.id) }, 'queued executions re-enqueued');
    }
    const restored = await restoreLostHotState({ ...deps, logger: log }, { minAgeMs: deps.minAgeMs, limit: 500 });
    const released = await releaseEnded(deps);
    if (released > 0) {
      deps.metrics.recoveredTotal.inc({ kind: 'in_flight_release' }, released);
      log.info({ count: released }, 'in-flight ids of ended executions released');
    }
    return stale.length + restored + released;
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runOnce()
      .catch((err: unknown) => { log.warn({ err }, 'recovery sweep failed: will retry'); })
      .finally(() => { running = false; });
  }, deps.intervalMs);
  timer.unref();
  return { runOnce, stop: () => { clearInterval(timer); } };
}
