/**
 * JobQueue on BullMQ. BullMQ owns delivery, delays, locks and stall recovery; this adapter maps
 * the port's semantics onto it. Every failure goes through `retryDecision` (engine), the one
 * decision both queue adapters share: a retry's delay reaches BullMQ through its custom backoff
 * strategy, a re-delay moves the job back to delayed without spending an attempt, and a
 * failure becomes `UnrecoverableError`.
 */
import {
  DelayedError,
  Queue,
  UnrecoverableError,
  Worker,
  type BackoffOptions,
  type Job,
  type JobsOptions,
  type MinimalJob,
} from 'bullmq';
import { Redis } from 'ioredis';
import { retryDecision } from '../../engine/retry-decision.js';
import { toWeftError } from '../../errors/index.js';
import type { BackoffPolicy } from '../../flow/types.js';
import {
  type ConsumeOptions,
  type EnqueueRequest,
  type JobConsumer,
  type JobHandler,
  type JobQueue,
  type ListJobsOptions,
  type QueueCounts,
  type QueueName,
  type StoredJob,
} from '../../ports/job-queue.js';
import { bullPrefix } from './keys.js';

type LogFn = (obj: object, msg?: string) => void;

/** The part of a pino logger the queue uses. */
export interface QueueLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export interface BullMqJobQueueOptions {
  /** The adapter opens (and closes) its own connections from this URL. */
  connection: { url: string };
  /** Weft key prefix; queues live under `bullPrefix(prefix)`. */
  prefix: string;
  logger?: QueueLogger;
  /** BullMQ `stalledInterval` (default 30 s): how often workers look for jobs of dead workers. */
  stalledIntervalMs?: number;
  /** BullMQ `lockDuration` (default 30 s): how long a job stays locked without a lock renewal. */
  lockDurationMs?: number;
}

/** Finished jobs are kept this long so that a re-enqueue of their id is still dropped. */
export const COMPLETED_RETENTION = { age: 3600, count: 10_000 } as const;
export const FAILED_RETENTION = { age: 7 * 24 * 3600 } as const;

const BACKOFF_PREFIX = 'weft-';
/** Marks a job enqueued without a policy: the strategy then applies backoffDelay's default. */
const DEFAULT_BACKOFF_TYPE = `${BACKOFF_PREFIX}default`;

/** Control-flow errors of BullMQ that must reach it untouched. */
const BULLMQ_CONTROL_ERRORS: ReadonlySet<string> = new Set([
  'UnrecoverableError',
  'DelayedError',
  'WaitingError',
  'WaitingChildrenError',
  'RateLimitError',
]);

/**
 * A job's key is `<prefix>:<queue>:<jobId>`, so these ids would land on the queue's own keys
 * (the delayed set, the wait list…) and corrupt the queue instead of adding a job.
 */
export const RESERVED_JOB_IDS: ReadonlySet<string> = new Set([
  'active', 'wait', 'waiting-children', 'paused', 'id', 'delayed', 'prioritized', 'stalled-check',
  'completed', 'failed', 'stalled', 'repeat', 'limiter', 'meta', 'events', 'pc', 'marker', 'de', 'metrics',
]);

/** Waiting states in the sense of the port (`waiting` counts them all). */
const REMOVABLE_STATES: ReadonlySet<string> = new Set(['waiting', 'prioritized', 'waiting-children', 'delayed']);

const silentLogger: QueueLogger = { debug: noop, info: noop, warn: noop, error: noop };

export class BullMqJobQueue implements JobQueue {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly consumers = new Set<BullMqConsumer<never>>();
  private readonly log: QueueLogger;
  private producer: Redis | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BullMqJobQueueOptions) {
    this.log = options.logger ?? silentLogger;
  }

  async add(job: EnqueueRequest): Promise<void> {
    const request = toBullJob(job);
    await this.queue(job.queue).add(request.name, request.data, request.opts);
  }

  async addBulk(jobs: readonly EnqueueRequest[]): Promise<void> {
    // Validate every job before the first write, so that a bad one adds none of them.
    const byQueue = new Map<QueueName, ReturnType<typeof toBullJob>[]>();
    for (const job of jobs) {
      const list = byQueue.get(job.queue) ?? [];
      list.push(toBullJob(job));
      byQueue.set(job.queue, list);
    }
    // BullMQ adds one queue's bulk in one MULTI; its add script drops an id already present,
    // including one earlier in the same bulk.
    await Promise.all([...byQueue].map(([queue, list]) => this.queue(queue).addBulk(list)));
  }

  async remove(queue: QueueName, jobId: string): Promise<boolean> {
    const q = this.queue(queue);
    const state = await q.getJobState(jobId);
    // Queue.remove would also delete a finished job (and with it the dedupe record); only
    // unstarted jobs are the port's to remove. An active job is refused by BullMQ's lock check.
    if (!REMOVABLE_STATES.has(state)) return false;
    return (await q.remove(jobId)) === 1;
  }

  async counts(queue: QueueName): Promise<QueueCounts> {
    const c = await this.queue(queue).getJobCounts(
      'waiting', 'prioritized', 'waiting-children', 'active', 'delayed', 'completed', 'failed',
    );
    const n = (key: string): number => c[key] ?? 0;
    return {
      // BullMQ 6 keeps the jobs of a paused queue in its wait list: `waiting` covers them.
      waiting: n('waiting') + n('prioritized') + n('waiting-children'),
      active: n('active'),
      delayed: n('delayed'),
      completed: n('completed'),
      failed: n('failed'),
    };
  }

  async list(queue: QueueName, options: ListJobsOptions): Promise<StoredJob[]> {
    const { start, end } = listRange(options);
    // The wait list is pushed at its head: ascending=false reads it newest first.
    const jobs = await this.queue(queue).getJobs(['wait'], start, end, false);
    return jobs.map(toStoredJob);
  }

  async get(queue: QueueName, jobId: string): Promise<StoredJob | null> {
    // A reserved id names one of the queue's own keys, never a job (see RESERVED_JOB_IDS).
    if (jobId === '' || RESERVED_JOB_IDS.has(jobId)) return null;
    const q = this.queue(queue);
    const state = await q.getJobState(jobId);
    // Finished jobs are retained only for dedupe; the port sees unfinished ones.
    if (!REMOVABLE_STATES.has(state) && state !== 'active') return null;
    const job = await q.getJob(jobId);
    return job ? toStoredJob(job) : null;
  }

  process<T>(queue: QueueName, handler: JobHandler<T>, options: ConsumeOptions): JobConsumer {
    this.assertOpen();
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    const log = this.log;
    // Workers block on BZPOPMIN and must never give up a command: maxRetriesPerRequest null.
    const connection = this.openConnection({ maxRetriesPerRequest: null }, 'worker');
    const consumer = new BullMqConsumer<T>({ queue, handler, connection, log });
    const worker = new Worker<unknown, void>(queue, consumer.processor, {
      connection,
      prefix: bullPrefix(this.options.prefix),
      concurrency: options.concurrency,
      settings: { backoffStrategy: weftBackoffStrategy },
      ...(this.options.stalledIntervalMs === undefined ? {} : { stalledInterval: this.options.stalledIntervalMs }),
      ...(this.options.lockDurationMs === undefined ? {} : { lockDuration: this.options.lockDurationMs }),
    });
    worker.on('error', (err) => { log.warn({ err, queue }, 'job queue worker error'); });
    worker.on('stalled', (jobId) => { log.warn({ queue, jobId }, 'job stalled; redelivering'); });
    consumer.attach(worker);
    this.consumers.add(consumer);
    consumer.onClosed(() => this.consumers.delete(consumer));
    return consumer;
  }

  /** Closes consumers (letting running jobs finish), queues and the connections it opened. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close().catch((err: unknown) => {
      this.log.warn({ err, queue: q.name }, 'closing job queue failed');
    })));
    this.queues.clear();
    if (this.producer) await quitConnection(this.producer);
    this.producer = undefined;
  }

  private queue(name: QueueName): Queue {
    this.assertOpen();
    let queue = this.queues.get(name);
    if (!queue) {
      // One connection for every producer side; BullMQ leaves a passed-in client open.
      this.producer ??= this.openConnection({}, 'producer');
      queue = new Queue(name, { connection: this.producer, prefix: bullPrefix(this.options.prefix) });
      queue.on('error', (err) => { this.log.warn({ err, queue: name }, 'job queue error'); });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * BullMQ's ESM build cannot load ioredis from connection options (it needs `require`), so
   * the adapter always hands it client instances.
   */
  private openConnection(extra: { maxRetriesPerRequest?: number | null }, role: string): Redis {
    const redis = new Redis(this.options.connection.url, extra);
    // ioredis prints unhandled 'error' events itself; BullMQ reports the same errors through
    // the queue and worker 'error' events, logged above.
    redis.on('error', (err: unknown) => { this.log.debug({ err, role }, 'redis connection error'); });
    return redis;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('BullMqJobQueue is closed');
  }
}

interface ConsumerDeps<T> {
  queue: QueueName;
  handler: JobHandler<T>;
  connection: Redis;
  log: QueueLogger;
}

class BullMqConsumer<T> implements JobConsumer {
  private worker: Worker<unknown, void> | undefined;
  private readonly running = new Set<AbortController>();
  private graceful: Promise<void> | undefined;
  private forced: Promise<void> | undefined;
  private forcing = false;
  private connectionClosed = false;
  private resolveForced: () => void = noop;
  private readonly forcedDone = new Promise<void>((resolve) => { this.resolveForced = resolve; });
  private readonly closedListeners: Array<() => void> = [];

  constructor(private readonly deps: ConsumerDeps<T>) {}

  attach(worker: Worker<unknown, void>): void {
    this.worker = worker;
  }

  onClosed(listener: () => void): void {
    this.closedListeners.push(listener);
  }

  /**
   * The Worker's processor. It declares the third parameter on purpose: BullMQ only creates
   * a per-job AbortSignal (for `Worker.cancelJob`) for processors of arity 3 or more.
   */
  readonly processor = async (job: Job<unknown, void>, token?: string, bullSignal?: AbortSignal): Promise<void> => {
    const controller = new AbortController();
    const chain = (): void => { controller.abort(bullSignal?.reason); };
    if (bullSignal?.aborted) chain();
    else bullSignal?.addEventListener('abort', chain, { once: true });
    this.running.add(controller);
    try {
      await this.deps.handler({
        id: job.id ?? '',
        name: job.name,
        queue: this.deps.queue,
        data: job.data as T,
        attempt: job.attemptsMade + 1,
        maxAttempts: job.opts.attempts ?? 1,
        signal: controller.signal,
      });
    } catch (err) {
      if (err instanceof Error && BULLMQ_CONTROL_ERRORS.has(err.name)) throw err;
      const weft = toWeftError(err);
      const backoff = job.opts.backoff;
      const decision = retryDecision({
        error: weft,
        attempt: job.attemptsMade + 1,
        maxAttempts: job.opts.attempts ?? 1,
        backoff: typeof backoff === 'object' ? decodeBackoff(backoff.type, backoff.delay) : undefined,
      });
      switch (decision.kind) {
        case 'redelay':
          // An outage is not the job's fault: back to delayed without spending an attempt
          // (DelayedError tells BullMQ the move was ours).
          if (token === undefined) throw retryWith(err, weft, decision.delayMs);
          await job.moveToDelayed(Date.now() + decision.delayMs, token);
          throw new DelayedError();
        case 'retry':
          throw retryWith(err, weft, decision.delayMs);
        case 'fail': {
          const unrecoverable = new UnrecoverableError(`${weft.code}: ${weft.message}`);
          unrecoverable.cause = err;
          throw unrecoverable;
        }
      }
    } finally {
      this.running.delete(controller);
      bullSignal?.removeEventListener('abort', chain);
    }
  };

  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) {
      this.forced ??= this.forceClose();
      return this.forced;
    }
    // A force close during the graceful wait ends the wait too.
    this.graceful ??= Promise.race([this.drainAndClose(), this.forcedDone]);
    return this.graceful;
  }

  private async drainAndClose(): Promise<void> {
    const worker = this.requireWorker();
    // pause() stops fetching and waits until running jobs and their completion writes are done;
    // unlike close(), it leaves a later force close free to tear the worker down.
    await worker.pause(false).catch((err: unknown) => { this.deps.log.warn({ err, queue: this.deps.queue }, 'pausing worker failed'); });
    if (this.forcing) return;
    await worker.close().catch((err: unknown) => { this.deps.log.warn({ err, queue: this.deps.queue }, 'closing worker failed'); });
    await this.closeConnection(false);
    this.notifyClosed();
  }

  private async forceClose(): Promise<void> {
    this.forcing = true;
    const worker = this.requireWorker();
    // Close first, abort second: once the worker is closed BullMQ no longer records a job's
    // outcome, so an aborted job is neither failed nor retried. It stays active until its lock
    // expires and the stall check of a live worker redelivers it.
    await worker.close(true).catch((err: unknown) => { this.deps.log.warn({ err, queue: this.deps.queue }, 'closing worker failed'); });
    const reason = new DOMException('job queue consumer force-closed', 'AbortError');
    for (const controller of this.running) controller.abort(reason);
    await this.closeConnection(true);
    this.notifyClosed();
    this.resolveForced();
  }

  private async closeConnection(force: boolean): Promise<void> {
    if (this.connectionClosed) return;
    this.connectionClosed = true;
    if (force) this.deps.connection.disconnect();
    else await quitConnection(this.deps.connection);
  }

  private notifyClosed(): void {
    for (const listener of this.closedListeners.splice(0)) listener();
  }

  private requireWorker(): Worker<unknown, void> {
    if (!this.worker) throw new Error('consumer has no worker');
    return this.worker;
  }
}

interface BullJob {
  name: string;
  data: unknown;
  opts: JobsOptions;
}

function toBullJob(job: EnqueueRequest): BullJob {
  // BullMQ would invent an id for an empty one, and dedupe would silently stop working.
  if (typeof job.jobId !== 'string' || job.jobId === '') throw new Error('jobId is required');
  if (RESERVED_JOB_IDS.has(job.jobId)) throw new Error(`jobId '${job.jobId}' is reserved by BullMQ`);
  const attempts = job.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  }
  const delay = job.delayMs ?? 0;
  if (!Number.isFinite(delay) || delay < 0) throw new RangeError(`delayMs must be >= 0, got ${delay}`);
  return {
    name: job.name,
    data: job.data,
    opts: {
      jobId: job.jobId,
      attempts,
      backoff: encodeBackoff(job.backoff),
      ...(delay > 0 ? { delay: Math.round(delay) } : {}),
      removeOnComplete: COMPLETED_RETENTION,
      removeOnFail: FAILED_RETENTION,
    },
  };
}

/** The inclusive index range of a page, validated like the port's other inputs. */
function listRange(options: ListJobsOptions): { start: number; end: number } {
  const offset = options.offset ?? 0;
  if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`limit must be a positive integer, got ${options.limit}`);
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  return { start: offset, end: offset + options.limit - 1 };
}

function toStoredJob(job: Job): StoredJob {
  return {
    id: job.id ?? '',
    name: job.name,
    data: job.data as unknown,
    // BullMQ leaves failedReason unset (or empty) on a job that never failed.
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    timestamp: job.timestamp,
  };
}

/** The policy travels in the job's backoff options under a type only our strategy knows. */
function encodeBackoff(policy: BackoffPolicy | undefined): BackoffOptions {
  if (!policy) return { type: DEFAULT_BACKOFF_TYPE };
  return { type: `${BACKOFF_PREFIX}${policy.type}`, delay: policy.delayMs };
}

function decodeBackoff(type: string | undefined, delay: number | undefined): BackoffPolicy | undefined {
  if (type === `${BACKOFF_PREFIX}fixed`) return { type: 'fixed', delayMs: delay ?? 0 };
  if (type === `${BACKOFF_PREFIX}exponential`) return { type: 'exponential', delayMs: delay ?? 0 };
  return undefined;
}

/** The delay retryDecision chose for each error the processor threw for a retry. */
const decidedDelays = new WeakMap<Error, number>();

/** The error to throw for a retry (its identity kept), carrying the decided delay to the strategy. */
function retryWith(err: unknown, weft: Error, delayMs: number): Error {
  const thrown = err instanceof Error ? err : weft;
  decidedDelays.set(thrown, delayMs);
  return thrown;
}

/**
 * BullMQ asks this for the delay of a retry, with the error the processor threw: the delay
 * retryDecision chose. An error that did not come through the processor (none should) retries
 * at once.
 */
function weftBackoffStrategy(_attemptsMade: number, _type?: string, err?: Error, _job?: MinimalJob): number {
  return (err === undefined ? undefined : decidedDelays.get(err)) ?? 0;
}

async function quitConnection(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    // Already closed or unreachable: nothing is left to release.
    redis.disconnect();
  }
}

function noop(): void {
  // Intentionally empty: the default logger and resolver discard.
}
