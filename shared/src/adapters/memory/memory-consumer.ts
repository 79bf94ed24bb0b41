/**
 * One consumer of the memory queue: runs up to `concurrency` jobs at once, reports each run's
 * outcome to the queue, and closes gracefully (running jobs finish) or by force (running jobs
 * aborted and handed back to the queue, as BullMQ redelivers a stalled job).
 */
import type { JobConsumer, JobContext, JobHandler } from '../../ports/job-queue.js';
import type { JobSlots } from '../../ports/job-slots.js';
import type { MemoryJob } from './memory-jobs.js';

export interface ActiveRun {
  job: MemoryJob;
  controller: AbortController;
  /** Set by a force close: the job went back to the queue and this run's outcome is ignored. */
  detached: boolean;
}

export type Outcome = { ok: true } | { ok: false; error: unknown };

export interface ConsumerHost {
  detach(consumer: MemoryConsumer): void;
  redeliver(job: MemoryJob): void;
}

export class MemoryConsumer implements JobConsumer {
  private readonly active = new Set<ActiveRun>();
  private readonly handler: JobHandler;
  private readonly concurrency: number;
  private readonly host: ConsumerHost;
  /** The process-wide budget this consumer shares with others (a worker's pool of node queues). */
  private readonly slots: JobSlots | undefined;
  private open = true;
  private idleWaiters: Array<() => void> = [];

  constructor(deps: { handler: JobHandler; concurrency: number; host: ConsumerHost; slots?: JobSlots | undefined }) {
    this.handler = deps.handler;
    this.concurrency = deps.concurrency;
    this.host = deps.host;
    this.slots = deps.slots;
  }

  hasCapacity(): boolean {
    return this.open && this.active.size < this.concurrency && (!this.slots || this.slots.inUse < this.slots.size);
  }

  /** Runs a job; the caller checked hasCapacity() just before (so a shared slot is free). */
  run(job: MemoryJob, onSettled: (run: ActiveRun, outcome: Outcome) => void): void {
    this.slots?.tryAcquire();
    const run: ActiveRun = { job, controller: new AbortController(), detached: false };
    this.active.add(run);
    const context: JobContext = {
      id: job.id,
      name: job.name,
      queue: job.queue,
      data: job.data,
      attempt: job.attemptsMade + 1,
      maxAttempts: job.maxAttempts,
      signal: run.controller.signal,
    };
    // Promise.resolve().then also turns a synchronous throw of the handler into a rejection.
    void Promise.resolve()
      .then(() => this.handler(context))
      .then(
        () => { this.finishRun(run, { ok: true }, onSettled); },
        (error: unknown) => { this.finishRun(run, { ok: false, error }, onSettled); },
      );
  }

  close(options: { force?: boolean } = {}): Promise<void> {
    if (this.open) {
      this.open = false;
      this.host.detach(this);
    }
    if (options.force) {
      const reason = new DOMException('job queue consumer force-closed', 'AbortError');
      for (const run of this.active) {
        run.detached = true;
        run.controller.abort(reason);
        this.slots?.release();
        this.host.redeliver(run.job);
      }
      this.active.clear();
      this.notifyIdle();
    }
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => { this.idleWaiters.push(resolve); });
  }

  private finishRun(run: ActiveRun, outcome: Outcome, onSettled: (run: ActiveRun, outcome: Outcome) => void): void {
    if (!this.active.delete(run)) return;
    this.slots?.release();
    onSettled(run, outcome);
    if (this.active.size === 0) this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
