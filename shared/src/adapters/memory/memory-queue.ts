/**
 * JobQueue in memory for embedded mode, with BullMQ's semantics as the BullMQ adapter exposes
 * them: ids deduplicated (finished ids retained as long as BullMQ keeps them), FIFO per queue,
 * delays, retries and re-delays through `retryDecision` (as the BullMQ adapter), non-retryable errors not retried, and a force-closed
 * job handed back to the queue the way BullMQ redelivers a stalled one.
 */
import { retryDecision } from '../../engine/retry-decision.js';
import { toWeftError } from '../../errors/index.js';
import {
  jobExecutionId,
  type ConsumeOptions,
  type EnqueueRequest,
  type JobConsumer,
  type JobHandler,
  type JobQueue,
  type JobSchedulerSpec,
  type ListJobsOptions,
  type QueueCounts,
  type QueueName,
  type StoredJob,
} from '../../ports/job-queue.js';
import { MemoryConsumer, type ActiveRun, type Outcome } from './memory-consumer.js';
import { MemorySchedulers } from './memory-schedulers.js';
import { MEMORY_COMPLETED_RETENTION, MEMORY_FAILED_RETENTION, pruneFinished, toStoredJob, validateRequest, type MemoryJob } from './memory-jobs.js';

export { MEMORY_COMPLETED_RETENTION, MEMORY_FAILED_RETENTION } from './memory-jobs.js';

export interface MemoryJobQueueOptions {
  /** Time source of the retention of finished ids; timers still run on real time. */
  clock?: () => number;
}

/** setTimeout fires at once beyond this; longer delays are waited for in steps. */
const MAX_TIMER_MS = 2_147_483_647;

interface QueueState {
  /** Every unfinished job: waiting, delayed or active. */
  live: Map<string, MemoryJob>;
  /** Redelivered jobs go first, as BullMQ puts stalled jobs at the head of its wait list. */
  front: MemoryJob[];
  /** Insertion-ordered: a Map gives O(1) take-first and remove-by-id. Jobs without a priority. */
  waiting: Map<string, MemoryJob>;
  /** Jobs with a priority, one insertion-ordered Map per priority (BullMQ: after the wait list, lowest first). */
  prioritized: Map<number, Map<string, MemoryJob>>;
  /** Finished ids → finish time, oldest first. */
  completed: Map<string, number>;
  failed: Map<string, number>;
  consumers: MemoryConsumer[];
  nextConsumer: number;
  dispatchScheduled: boolean;
}

export class MemoryJobQueue implements JobQueue {
  private readonly states = new Map<QueueName, QueueState>();
  private readonly clock: () => number;
  private closing: Promise<void> | undefined;
  private nextSeq = 0;
  private readonly schedulers: MemorySchedulers;

  constructor(options: MemoryJobQueueOptions = {}) {
    this.clock = options.clock ?? Date.now;
    // Ticks are inserted directly: their ids (`repeat:<id>:<ms>`, as BullMQ names them) are not custom ids.
    this.schedulers = new MemorySchedulers((job) => { if (!this.closing) this.insert(job); }, Date.now);
  }

  upsertScheduler(spec: JobSchedulerSpec): Promise<void> {
    try {
      this.assertOpen();
      this.schedulers.upsert(spec);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  removeScheduler(queue: QueueName, schedulerId: string): Promise<boolean> {
    return Promise.resolve(this.schedulers.remove(queue, schedulerId));
  }

  hasScheduler(queue: QueueName, schedulerId: string): Promise<boolean> {
    return Promise.resolve(this.schedulers.has(queue, schedulerId));
  }

  add(job: EnqueueRequest): Promise<void> {
    return this.addBulk([job]);
  }

  addBulk(jobs: readonly EnqueueRequest[]): Promise<void> {
    try {
      this.assertOpen();
      // All or nothing, like BullMQ's MULTI: validate every job before adding any.
      for (const job of jobs) validateRequest(job);
      for (const job of jobs) this.insert(job);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  remove(queue: QueueName, jobId: string): Promise<boolean> {
    const state = this.states.get(queue);
    const job = state?.live.get(jobId);
    if (!state || !job || job.state === 'active') return Promise.resolve(false);
    clearTimeout(job.timer);
    state.live.delete(jobId);
    unqueue(state, job);
    return Promise.resolve(true);
  }

  promote(queue: QueueName, jobId: string): Promise<boolean> {
    const state = this.states.get(queue);
    const job = state?.live.get(jobId);
    if (!state || !job || job.state !== 'delayed') return Promise.resolve(false);
    clearTimeout(job.timer);
    job.timer = undefined;
    this.enqueue(state, job);
    return Promise.resolve(true);
  }

  purgeExecutions(executionIds: readonly string[]): Promise<{ removed: number; busy: number }> {
    const ids = new Set(executionIds);
    let removed = 0;
    let busy = 0;
    for (const state of this.states.values()) {
      for (const job of [...state.live.values()]) {
        if (jobExecutionId(job.id, ids) === null) continue;
        if (job.state === 'active') {
          busy++;
          continue;
        }
        clearTimeout(job.timer);
        state.live.delete(job.id);
        unqueue(state, job);
        removed++;
      }
      for (const finished of [state.completed, state.failed]) {
        for (const id of [...finished.keys()]) {
          if (jobExecutionId(id, ids) === null) continue;
          finished.delete(id);
          removed++;
        }
      }
    }
    return Promise.resolve({ removed, busy });
  }

  counts(queue: QueueName): Promise<QueueCounts> {
    const state = this.states.get(queue);
    const counts: QueueCounts = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
    if (!state) return Promise.resolve(counts);
    this.prune(state);
    for (const job of state.live.values()) counts[job.state] += 1;
    counts.completed = state.completed.size;
    counts.failed = state.failed.size;
    return Promise.resolve(counts);
  }

  list(queue: QueueName, options: ListJobsOptions): Promise<StoredJob[]> {
    const offset = options.offset ?? 0;
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      return Promise.reject(new RangeError(`limit must be a positive integer, got ${options.limit}`));
    }
    if (!Number.isInteger(offset) || offset < 0) {
      return Promise.reject(new RangeError(`offset must be a non-negative integer, got ${offset}`));
    }
    const state = this.states.get(queue);
    if (!state) return Promise.resolve([]);
    const waiting = [...state.live.values()].filter((job) => job.state === 'waiting').sort((a, b) => b.seq - a.seq);
    return Promise.resolve(waiting.slice(offset, offset + options.limit).map(toStoredJob));
  }

  get(queue: QueueName, jobId: string): Promise<StoredJob | null> {
    const job = this.states.get(queue)?.live.get(jobId);
    return Promise.resolve(job ? toStoredJob(job) : null);
  }

  process<T>(queue: QueueName, handler: JobHandler<T>, options: ConsumeOptions): JobConsumer {
    this.assertOpen();
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    const state = this.state(queue);
    // A slot freed by a consumer of another queue may let this one take its next job.
    const unsubscribe = options.slots?.onFree(() => { this.scheduleDispatch(state); });
    const consumer = new MemoryConsumer({
      handler: handler as JobHandler,
      concurrency: options.concurrency,
      slots: options.slots,
      host: {
        detach: (c) => { unsubscribe?.(); this.detach(state, c); },
        redeliver: (job) => { this.redeliver(state, job); },
      },
    });
    state.consumers.push(consumer);
    this.scheduleDispatch(state);
    return consumer;
  }

  /** Closes consumers (letting running jobs finish) and drops every pending job and timer. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    this.schedulers.close();
    const consumers = [...this.states.values()].flatMap((s) => s.consumers);
    await Promise.all(consumers.map((c) => c.close()));
    for (const state of this.states.values()) {
      for (const job of state.live.values()) clearTimeout(job.timer);
    }
    this.states.clear();
  }

  private insert(request: EnqueueRequest): void {
    const state = this.state(request.queue);
    this.prune(state);
    const id = request.jobId;
    if (state.live.has(id) || state.completed.has(id) || state.failed.has(id)) return;
    const job: MemoryJob = {
      queue: request.queue,
      id,
      name: request.name,
      data: request.data,
      maxAttempts: request.attempts ?? 1,
      backoff: request.backoff,
      attemptsMade: 0,
      state: 'waiting',
      timer: undefined,
      addedAt: this.clock(),
      seq: this.nextSeq++,
      removeOnComplete: request.removeOnComplete === true,
      priority: request.priority ?? 0,
    };
    state.live.set(id, job);
    const delay = Math.round(request.delayMs ?? 0);
    if (delay > 0) this.delay(state, job, delay);
    else this.enqueue(state, job);
  }

  private enqueue(state: QueueState, job: MemoryJob): void {
    job.state = 'waiting';
    if (job.priority > 0) {
      let bucket = state.prioritized.get(job.priority);
      if (!bucket) {
        bucket = new Map();
        state.prioritized.set(job.priority, bucket);
      }
      bucket.set(job.id, job);
    } else {
      state.waiting.set(job.id, job);
    }
    this.scheduleDispatch(state);
  }

  private delay(state: QueueState, job: MemoryJob, ms: number): void {
    job.state = 'delayed';
    this.arm(state, job, performance.now() + ms);
  }

  /**
   * Timers may fire a millisecond early and cannot wait beyond ~24.8 days, so the due time is
   * checked on a monotonic clock and the timer re-armed until it has passed.
   */
  private arm(state: QueueState, job: MemoryJob, dueAt: number): void {
    const remaining = dueAt - performance.now();
    if (remaining <= 0) {
      job.timer = undefined;
      this.enqueue(state, job);
      return;
    }
    job.timer = setTimeout(() => {
      if (state.live.get(job.id) === job) this.arm(state, job, dueAt);
    }, Math.min(Math.ceil(remaining), MAX_TIMER_MS));
    // A pending delay or retry must not keep the process alive on its own.
    job.timer.unref();
  }

  private redeliver(state: QueueState, job: MemoryJob): void {
    if (this.closing || state.live.get(job.id) !== job) return;
    job.state = 'waiting';
    state.front.push(job);
    this.scheduleDispatch(state);
  }

  private detach(state: QueueState, consumer: MemoryConsumer): void {
    state.consumers = state.consumers.filter((c) => c !== consumer);
  }

  /** Coalesced, and off the caller's stack: a handler never runs inside `add()`. */
  private scheduleDispatch(state: QueueState): void {
    if (state.dispatchScheduled) return;
    state.dispatchScheduled = true;
    queueMicrotask(() => {
      state.dispatchScheduled = false;
      this.dispatch(state);
    });
  }

  private dispatch(state: QueueState): void {
    for (;;) {
      const consumer = this.nextFreeConsumer(state);
      if (!consumer) return;
      const job = takeNext(state);
      if (!job) return;
      job.state = 'active';
      consumer.run(job, (run, outcome) => { this.settle(state, run, outcome); });
    }
  }

  /** Round robin over consumers with a free slot, so that one consumer cannot starve another. */
  private nextFreeConsumer(state: QueueState): MemoryConsumer | undefined {
    const n = state.consumers.length;
    for (let i = 0; i < n; i++) {
      const index = (state.nextConsumer + i) % n;
      const consumer = state.consumers[index];
      if (consumer?.hasCapacity()) {
        state.nextConsumer = (index + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  private settle(state: QueueState, run: ActiveRun, outcome: Outcome): void {
    const { job } = run;
    if (run.detached || state.live.get(job.id) !== job) return;
    if (outcome.ok && job.removeOnComplete) {
      state.live.delete(job.id);
    } else if (outcome.ok) {
      this.finish(state, job, state.completed);
    } else {
      const decision = retryDecision({ error: toWeftError(outcome.error), attempt: job.attemptsMade + 1, maxAttempts: job.maxAttempts, backoff: job.backoff });
      switch (decision.kind) {
        case 'redelay':
          // An outage is not the job's fault: try again later with the same attempt number.
          this.delay(state, job, decision.delayMs);
          break;
        case 'retry':
          job.attemptsMade += 1;
          if (decision.delayMs > 0) this.delay(state, job, decision.delayMs);
          else this.enqueue(state, job);
          break;
        case 'fail':
          job.attemptsMade += 1;
          this.finish(state, job, state.failed);
          break;
      }
    }
    this.scheduleDispatch(state);
  }

  private finish(state: QueueState, job: MemoryJob, into: Map<string, number>): void {
    state.live.delete(job.id);
    into.set(job.id, this.clock());
    this.prune(state);
  }

  private prune(state: QueueState): void {
    const now = this.clock();
    pruneFinished(state.completed, { before: now - MEMORY_COMPLETED_RETENTION.ageMs, max: MEMORY_COMPLETED_RETENTION.count });
    pruneFinished(state.failed, { before: now - MEMORY_FAILED_RETENTION.ageMs, max: Number.POSITIVE_INFINITY });
  }

  private state(queue: QueueName): QueueState {
    let state = this.states.get(queue);
    if (!state) {
      state = {
        live: new Map(),
        front: [],
        waiting: new Map(),
        prioritized: new Map(),
        completed: new Map(),
        failed: new Map(),
        consumers: [],
        nextConsumer: 0,
        dispatchScheduled: false,
      };
      this.states.set(queue, state);
    }
    return state;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('MemoryJobQueue is closed');
  }
}

function takeNext(state: QueueState): MemoryJob | undefined {
  const first = state.front.shift();
  if (first) return first;
  const next = state.waiting.values().next();
  if (!next.done) {
    state.waiting.delete(next.value.id);
    return next.value;
  }
  // The lowest priority number first (a handful of buckets: node jobs use three).
  let best: number | undefined;
  for (const [priority, bucket] of state.prioritized) if (bucket.size > 0 && (best === undefined || priority < best)) best = priority;
  const bucket = best === undefined ? undefined : state.prioritized.get(best);
  const job = bucket?.values().next().value;
  if (!bucket || !job) return undefined;
  bucket.delete(job.id);
  return job;
}

/** Takes a job out of the waiting structures, wherever it is. */
function unqueue(state: QueueState, job: MemoryJob): void {
  state.waiting.delete(job.id);
  state.prioritized.get(job.priority)?.delete(job.id);
  const i = state.front.indexOf(job);
  if (i >= 0) state.front.splice(i, 1);
}
