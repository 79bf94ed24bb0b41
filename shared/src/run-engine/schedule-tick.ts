/**
 * A schedule's tick (architecture.md, "Triggers"): starts one execution of the schedule's flow
 * through the same path as an API start (row first, then the in-flight cap, then the job), with
 * an idempotency key of (schedule id, tick time), so that a retried or redelivered tick job finds
 * the execution it started instead of starting a second. A tick the workspace's in-flight cap
 * refuses, whose flow was deleted, or whose input does not match the flow's inputSchema, is
 * recorded as skipped with the reason; a schedule whose flow was deleted is paused.
 */
import { toWeftError } from '../errors/index.js';
import { QUEUES, schedulerTickOf, type JobHandler, type JobQueue } from '../ports/job-queue.js';
import { scheduleTickIdempotencyKey, type ScheduleTickJobData } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { Repos, ScheduleRow } from '../ports/database.js';
import type { RunEngine } from './run-engine.js';

/** Ticks kept per schedule in `schedule_ticks` (the newest). */
export const SCHEDULE_TICKS_KEPT = 100;

export type ScheduleSkipReason = 'workspace_quota' | 'flow_missing' | 'invalid_input';

export function createScheduleTickProcessor(deps: {
  engine: Pick<RunEngine, 'createExecution' | 'enqueue'>;
  repos: Pick<Repos, 'schedules'>;
  queue: JobQueue;
  logger: Logger;
  metrics: WeftMetrics;
}): JobHandler<ScheduleTickJobData> {
  const { engine, repos, metrics } = deps;
  return async (job) => {
    const tick = schedulerTickOf(job.id);
    if (!tick) {
      deps.logger.warn({ jobId: job.id }, 'schedule tick without a tick time in its id: ignored');
      return;
    }
    const tickAt = new Date(tick.tickMs);
    const { scheduleId } = job.data;
    const log = deps.logger.child({ scheduleId, workspaceId: job.data.workspaceId, tickAt: tickAt.toISOString() });
    const schedule = await repos.schedules.getById(scheduleId);
    if (!schedule || schedule.paused) {
      // The scheduler outlived its schedule (a removal lost to an outage, a deleted workspace): remove it now.
      const reason = schedule ? 'paused' : 'deleted';
      metrics.scheduleTicksTotal.inc({ outcome: 'skipped', reason });
      await deps.queue.removeScheduler(QUEUES.schedules, scheduleId);
      log.info({ reason }, 'schedule tick dropped: its scheduler is removed');
      return;
    }
    const record = (outcome: 'started' | 'skipped', reason: ScheduleSkipReason | null, executionId: string | null): Promise<void> =>
      repos.schedules.recordTick({ workspaceId: schedule.workspaceId, scheduleId, tickAt, outcome, reason, executionId, keep: SCHEDULE_TICKS_KEPT });
    const skip = async (reason: ScheduleSkipReason, err: unknown): Promise<void> => {
      await record('skipped', reason, null);
      metrics.scheduleTicksTotal.inc({ outcome: 'skipped', reason });
      log.info({ reason, err: toWeftError(err).message }, 'schedule tick skipped');
    };
    let created;
    try {
      created = await engine.createExecution(startOf(schedule, tickAt));
    } catch (err) {
      if (toWeftError(err).code === 'NOT_FOUND') {
        // A deleted flow never comes back: the schedule is paused, and ticks no more.
        await skip('flow_missing', err);
        await repos.schedules.setPaused({ workspaceId: schedule.workspaceId, scheduleId, paused: true });
        await deps.queue.removeScheduler(QUEUES.schedules, scheduleId);
        return;
      }
      // The schedule's input does not match the flow's inputSchema (the flow changed since): this tick
      // is skipped, the next ones try again (a fixed input or flow makes them start).
      if (toWeftError(err).code === 'INVALID_INPUT') return skip('invalid_input', err);
      throw err;
    }
    try {
      // Also for a replay: a crash between the insert and the enqueue is healed here (the job id dedupes).
      await engine.enqueue(created);
    } catch (err) {
      if (toWeftError(err).code === 'WORKSPACE_QUOTA_EXCEEDED') return skip('workspace_quota', err);
      throw err;
    }
    const executionId = created.execution.id;
    await record('started', null, executionId);
    metrics.scheduleTicksTotal.inc({ outcome: created.created ? 'started' : 'duplicate', reason: 'none' });
    log.info({ executionId, replay: !created.created }, created.created ? 'schedule tick started an execution' : 'schedule tick had started its execution already');
  };
}

function startOf(schedule: ScheduleRow, tickAt: Date): Parameters<RunEngine['createExecution']>[0] {
  return {
    workspaceId: schedule.workspaceId,
    flowId: schedule.flowId,
    input: schedule.input,
    idempotencyKey: scheduleTickIdempotencyKey(schedule.id, tickAt),
    scheduleId: schedule.id,
  };
}
