/**
 * A BullMQ Worker that shares a process-wide budget of running jobs (JobSlots) with the other
 * consumers of its process: a worker pool spanning several node queues runs at most
 * `slots.size` node jobs in all.
 *
 * BullMQ waits for a job (a blocking read of the queue's marker) without taking it, then takes it
 * in one script (`moveToActive`). The slot is taken just before that script and given back when
 * the job's processing (and its completion write) has ended, so a job waits for a slot in its
 * queue, where any worker may take it and priorities order it, never inside this worker.
 *
 * BullMQ's "fetch the next job with the completion write" shortcut is turned off here: the next
 * job must take its own slot. The cost is one Redis round trip per job on a pooled consumer.
 */
import { Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import type { JobSlots } from '../../ports/job-slots.js';

export class SlotWorker extends Worker<unknown, void> {
  private readonly stop = new AbortController();
  /** Jobs taken (with their slot) whose processing has not begun yet. */
  private taken = 0;

  constructor(name: string, processor: Processor<unknown, void>, opts: WorkerOptions, private readonly slots: JobSlots) {
    // Started below, once this subclass's fields exist.
    super(name, processor, { ...opts, autorun: false });
    this.run().catch((err: unknown) => { this.emit('error', err instanceof Error ? err : new Error(String(err))); });
  }

  protected override async moveToActive(token: string, name?: string): Promise<Job<unknown, void>> {
    if (!this.slots.tryAcquire()) {
      // A job taken but not started yet goes first: two consumers that each held one and waited
      // for a slot would wait for each other.
      if (this.taken > 0) return noJob();
      try {
        await this.slots.acquire(this.stop.signal);
      } catch {
        return noJob();
      }
    }
    if (this.closing || this.stop.signal.aborted) {
      this.slots.release();
      return noJob();
    }
    let job: Job<unknown, void> | undefined;
    try {
      job = await super.moveToActive(token, name);
    } catch (err) {
      this.slots.release();
      throw err;
    }
    if (!job) {
      this.slots.release();
      return noJob();
    }
    this.taken++;
    return job;
  }

  override async processJob(job: Job<unknown, void>, token: string): Promise<void | Job<unknown, void>> {
    this.taken = Math.max(0, this.taken - 1);
    try {
      // No next job fetched with the completion write: it takes its own slot through moveToActive.
      return await super.processJob(job, token, () => false);
    } finally {
      this.slots.release();
    }
  }

  override pause(doNotWaitActive?: boolean): Promise<void> {
    // Waiting for a slot ends: a pausing worker takes no more jobs.
    this.stop.abort();
    return super.pause(doNotWaitActive);
  }

  override close(force?: boolean): Promise<void> {
    this.stop.abort();
    return super.close(force);
  }
}

/** BullMQ's moveToActive answers undefined when no job was taken; its declared type omits that. */
function noJob(): Job<unknown, void> {
  return undefined as unknown as Job<unknown, void>;
}
