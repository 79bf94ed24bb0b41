/**
 * Schedules' job schedulers, kept in step with their rows (architecture.md, "Triggers"). The
 * row in Postgres is the truth; the scheduler (BullMQ's in Redis, or a timer in embedded mode)
 * follows it. At start, every schedule that should tick and has no scheduler gets one: all of
 * them in embedded mode, whose timers died with the process, plus one catch-up tick for a time
 * missed while it was down; in distributed mode only those Redis lost (BullMQ itself keeps the
 * pending tick of a fleet that was down, and runs it late, once).
 */
import { WeftError, toWeftError } from '@weft/shared/errors';
import { scheduleScheduler } from '@weft/shared/jobs';
import { QUEUES, type ScheduleRow } from '@weft/shared/ports';
import type { ApiDeps } from '../deps.js';

const PAGE = 500;

/** Arms a schedule's scheduler; 503 when the queue cannot be reached. */
export async function armSchedule(deps: ApiDeps, schedule: ScheduleRow): Promise<void> {
  try {
    await deps.queue.upsertScheduler(scheduleScheduler(schedule));
  } catch (err) {
    throw new WeftError('DEPENDENCY_UNAVAILABLE', 'the queue is unavailable; the schedule was not changed, retry later', { cause: toWeftError(err), retryAfterMs: 1000 });
  }
}

/**
 * Removes a schedule's scheduler, best effort: a scheduler left behind (Redis unreachable) is
 * removed by its next tick, which finds its schedule paused or gone and starts nothing.
 */
export async function disarmSchedule(deps: ApiDeps, scheduleId: string): Promise<void> {
  try {
    await deps.queue.removeScheduler(QUEUES.schedules, scheduleId);
  } catch (err) {
    deps.logger.warn({ err, scheduleId }, 'schedule\'s scheduler not removed: its next tick removes it');
  }
}

/** Re-arms schedules at start, in the background: `done` when it has ended; `stop` ends it early. */
export function startSchedules(deps: ApiDeps): { done: Promise<void>; stop: () => Promise<void> } {
  const log = deps.logger.child({ component: 'schedules' });
  let stopped = false;
  const run = (async () => {
    let afterId: string | undefined;
    let armed = 0;
    for (;;) {
      if (stopped) return;
      const page = await deps.database.repos.schedules.listAll({ ...(afterId ? { afterId } : {}), limit: PAGE });
      for (const schedule of page) {
        if (schedule.paused || stopped) continue;
        if (await deps.queue.hasScheduler(QUEUES.schedules, schedule.id)) continue;
        // One catch-up for a time missed since its last tick (in-memory schedulers; BullMQ keeps its own).
        await deps.queue.upsertScheduler({ ...scheduleScheduler(schedule), missedSince: schedule.lastTickAt ?? schedule.createdAt });
        armed++;
      }
      if (page.length < PAGE) break;
      afterId = page[page.length - 1]?.id;
    }
    if (armed > 0) log.info({ armed }, 'schedules re-armed');
  })().catch((err: unknown) => { log.error({ err }, 're-arming schedules failed'); });
  return {
    done: run,
    async stop() {
      stopped = true;
      await run;
    },
  };
}
