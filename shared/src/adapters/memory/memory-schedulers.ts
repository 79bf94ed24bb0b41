/**
 * Job schedulers in memory, for embedded mode: a timer per scheduler that adds the tick's job
 * (id `repeat:<id>:<ms>`, as BullMQ names it) at each time of the cron, then arms the next.
 * Nothing survives the process: embedded mode re-arms its schedules from Postgres at start.
 */
import { nextCronTime, previousCronTime } from '../../triggers/cron.js';
import { schedulerTickJobId, type EnqueueRequest, type JobSchedulerSpec, type QueueName } from '../../ports/job-queue.js';

/** setTimeout fires at once beyond this; a later tick is waited for in steps. */
const MAX_TIMER_MS = 2_147_483_647;

interface Armed {
  spec: JobSchedulerSpec;
  timer: NodeJS.Timeout | undefined;
}

export class MemorySchedulers {
  private readonly armed = new Map<string, Armed>();

  /** `add` inserts a tick's job (its id has BullMQ's `:`, which custom ids may not); it throws only when the queue is closed. */
  constructor(private readonly add: (job: EnqueueRequest) => void, private readonly clock: () => number) {}

  upsert(spec: JobSchedulerSpec): void {
    this.remove(spec.queue, spec.schedulerId);
    const entry: Armed = { spec, timer: undefined };
    this.armed.set(key(spec.queue, spec.schedulerId), entry);
    const now = this.clock();
    if (spec.missedSince) {
      // At most one catch-up: the newest time missed, however many were.
      const missed = previousCronTime({ cron: spec.pattern, timezone: spec.timezone, at: new Date(now) });
      if (missed && missed.getTime() > spec.missedSince.getTime()) this.fire(spec, missed.getTime());
    }
    this.arm(entry, now);
  }

  remove(queue: QueueName, schedulerId: string): boolean {
    const entry = this.armed.get(key(queue, schedulerId));
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.armed.delete(key(queue, schedulerId));
    return true;
  }

  has(queue: QueueName, schedulerId: string): boolean {
    return this.armed.has(key(queue, schedulerId));
  }

  close(): void {
    for (const entry of this.armed.values()) clearTimeout(entry.timer);
    this.armed.clear();
  }

  private fire(spec: JobSchedulerSpec, tickMs: number): void {
    this.add({
      queue: spec.queue, name: spec.name, data: spec.data, jobId: schedulerTickJobId(spec.schedulerId, tickMs),
      ...(spec.attempts === undefined ? {} : { attempts: spec.attempts }),
      ...(spec.backoff === undefined ? {} : { backoff: spec.backoff }),
    });
  }

  private arm(entry: Armed, after: number): void {
    const { spec } = entry;
    const tickMs = nextCronTime({ cron: spec.pattern, timezone: spec.timezone, after: new Date(after) }).getTime();
    const fire = (): void => {
      if (this.armed.get(key(spec.queue, spec.schedulerId)) !== entry) return;
      const remaining = tickMs - this.clock();
      if (remaining > 0) {
        entry.timer = setTimeout(fire, Math.min(remaining, MAX_TIMER_MS));
        entry.timer.unref();
        return;
      }
      // Added before the next is armed, as BullMQ does; the queue drops a tick id seen before.
      this.fire(spec, tickMs);
      this.arm(entry, Math.max(tickMs, this.clock()));
    };
    entry.timer = setTimeout(fire, Math.min(Math.max(0, tickMs - this.clock()), MAX_TIMER_MS));
    entry.timer.unref();
  }
}

function key(queue: QueueName, schedulerId: string): string {
  return `${queue}\u0000${schedulerId}`;
}
