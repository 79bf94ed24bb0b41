/**
 * JobQueue on BullMQ. BullMQ owns delivery, delays, locks and stall recovery; this adapter maps
 * the port's semantics onto it. Every failure goes through `retryDecision` (engine), the one
 * decision both queue adapters share: a retry's delay reaches BullMQ through its custom backoff
 * strategy, a re-delay moves the job back to delayed without spending an attempt, and a
 * failure becomes `UnrecoverableError`.
 *
 * Sharding (`shards` > 1, WEFT_QUEUE_SHARDS): an execution-scoped queue (`isShardedQueue`) is one
 * BullMQ queue per shard, prefix `{<prefix>:<shard>}`, and a job goes to the shard of its id's
 * execution (`shardOf(jobShardKey(jobId))`), so that `remove` and `get` find it by its id alone.
 * Consumers take from every shard; counts are summed over the shards. The other queues, and every
 * queue with one shard, keep the prefix `{<prefix>}`.
 */
import { Queue, Worker } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { openRedis, scanEveryMaster, type RedisClient, type RedisTarget } from './connection.js';
import {
  ALL_QUEUES,
  isShardedQueue,
  jobExecutionId,
  jobShardKey,
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
import { encodeBackoff, weftBackoffStrategy } from './bullmq-backoff.js';
import { BullMqConsumer, noop, quitConnection } from './bullmq-consumer.js';
import { SlotWorker } from './bullmq-slot-worker.js';
import type { JobSlots } from '../../ports/job-slots.js';
import { COMPLETED_RETENTION, FAILED_RETENTION, listRange, RESERVED_JOB_IDS, toBullJob, toStoredJob } from './bullmq-jobs.js';
import { allShards, bullPrefix, shardOf } from './keys.js';

export { COMPLETED_RETENTION, FAILED_RETENTION, RESERVED_JOB_IDS } from './bullmq-jobs.js';

type LogFn = (obj: object, msg?: string) => void;

/** The part of a pino logger the queue uses. */
export interface QueueLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export interface BullMqJobQueueOptions {
  /** The adapter opens (and closes) its own connections to this Redis (one server or a cluster). */
  connection: RedisTarget;
  /** Weft key prefix; queues live under `bullPrefix(prefix, shard, shards)`. */
  prefix: string;
  /** Shards of each execution-scoped queue (WEFT_QUEUE_SHARDS); default 1, one slot for all queues. */
  shards?: number;
  logger?: QueueLogger;
  /** BullMQ `stalledInterval` (default 30 s): how often workers look for jobs of dead workers. */
  stalledIntervalMs?: number;
  /** BullMQ `lockDuration` (default 30 s): how long a job stays locked without a lock renewal. */
  lockDurationMs?: number;
  /**
   * ioredis options of the producer connection (adds, removes, counts), e.g. no offline queue
   * and a command timeout, so that an api answers at once while Redis is down.
   */
  producerOptions?: RedisOptions;
}

/** Keys BullMQ keeps beside a job's hash, as `<jobId>:<suffix>`. */
const JOB_SIDE_KEYS: ReadonlySet<string> = new Set(['logs', 'lock', 'dependencies', 'processed', 'failed', 'unsuccessful']);

/** Waiting states in the sense of the port (`waiting` counts them all). */
const REMOVABLE_STATES: ReadonlySet<string> = new Set(['waiting', 'prioritized', 'waiting-children', 'delayed']);

const silentLogger: QueueLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** The BullMQ queue a job of the port's queue goes to: its shard, undefined for an unsharded queue. */
type Shard = number | undefined;

export class BullMqJobQueue implements JobQueue {
  /** By `<queue>|<shard>`. */
  private readonly queues = new Map<string, Queue>();
  private readonly shards: number;
  private readonly consumers = new Set<BullMqConsumer<never>>();
  private readonly log: QueueLogger;
  private producer: RedisClient | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BullMqJobQueueOptions) {
    this.log = options.logger ?? silentLogger;
    this.shards = options.shards ?? 1;
    if (!Number.isInteger(this.shards) || this.shards < 1) throw new RangeError(`shards must be a positive integer, got ${this.shards}`);
  }

  async add(job: EnqueueRequest): Promise<void> {
    const request = toBullJob(job);
    await this.queue(job.queue, this.shardOfJob(job.queue, job.jobId)).add(request.name, request.data, request.opts);
  }

  async addBulk(jobs: readonly EnqueueRequest[]): Promise<void> {
    // Validate every job before the first write, so that a bad one adds none of them.
    const byQueue = new Map<Queue, ReturnType<typeof toBullJob>[]>();
    for (const job of jobs) {
      const request = toBullJob(job);
      const queue = this.queue(job.queue, this.shardOfJob(job.queue, job.jobId));
      const list = byQueue.get(queue) ?? [];
      list.push(request);
      byQueue.set(queue, list);
    }
    // BullMQ adds one queue's bulk in one MULTI (one shard: one slot); its add script drops an id
    // already present, including one earlier in the same bulk.
    await Promise.all([...byQueue].map(([queue, list]) => queue.addBulk(list)));
  }

  async remove(queue: QueueName, jobId: string): Promise<boolean> {
    const q = this.queue(queue, this.shardOfJob(queue, jobId));
    const state = await q.getJobState(jobId);
    // Queue.remove would also delete a finished job (and with it the dedupe record); only
    // unstarted jobs are the port's to remove. An active job is refused by BullMQ's lock check.
    if (!REMOVABLE_STATES.has(state)) return false;
    return (await q.remove(jobId)) === 1;
  }

  async promote(queue: QueueName, jobId: string): Promise<boolean> {
    if (jobId === '' || RESERVED_JOB_IDS.has(jobId)) return false;
    const job = await this.queue(queue, this.shardOfJob(queue, jobId)).getJob(jobId);
    if (!job) return false;
    try {
      // BullMQ's promote script refuses a job that is no longer delayed (taken meanwhile).
      await job.promote();
      return true;
    } catch {
      return false;
    }
  }

  async purgeExecutions(executionIds: readonly string[]): Promise<{ removed: number; busy: number }> {
    const ids = new Set(executionIds);
    let removed = 0;
    let busy = 0;
    if (ids.size === 0) return { removed, busy };
    for (const [name, shard] of ALL_QUEUES.flatMap((n) => this.shardsOf(n).map((sh) => [n, sh] as const))) {
      const q = this.queue(name, shard);
      const base = `${q.opts.prefix ?? ''}:${name}:`;
      const jobIds = new Set<string>();
      // A job is a hash `<base><jobId>`, with `<base><jobId>:logs`, `:lock`… beside it; the
      // queue's own keys (`wait`, `delayed`…) are never an execution's id.
      // The producer connection, opened by queue() above.
      const redis = this.producer;
      if (!redis) throw new Error('BullMqJobQueue: no producer connection');
      for await (const { keys } of scanEveryMaster(redis, `${base}*`)) {
        for (const key of keys) {
          const rest = key.slice(base.length);
          const colon = rest.lastIndexOf(':');
          const jobId = colon >= 0 && JOB_SIDE_KEYS.has(rest.slice(colon + 1)) ? rest.slice(0, colon) : rest;
          if (jobExecutionId(jobId, ids) !== null) jobIds.add(jobId);
        }
      }
      for (const jobId of jobIds) {
        // Queue.remove takes the job out of every list and set and deletes its keys; it refuses
        // (0) a job whose lock a worker holds.
        if ((await q.remove(jobId)) === 1) removed++;
        else if ((await q.getJobState(jobId)) === 'active') busy++;
      }
    }
    return { removed, busy };
  }

  async upsertScheduler(spec: JobSchedulerSpec): Promise<void> {
    // BullMQ's job scheduler: one pending tick job per scheduler, id `repeat:<id>:<ms>`.
    await this.queue(spec.queue, this.shardOfJob(spec.queue, spec.schedulerId)).upsertJobScheduler(
      spec.schedulerId,
      { pattern: spec.pattern, tz: spec.timezone },
      {
        name: spec.name,
        data: spec.data,
        opts: { attempts: spec.attempts ?? 1, backoff: encodeBackoff(spec.backoff), removeOnComplete: COMPLETED_RETENTION, removeOnFail: FAILED_RETENTION },
      },
    );
  }

  async removeScheduler(queue: QueueName, schedulerId: string): Promise<boolean> {
    return this.queue(queue, this.shardOfJob(queue, schedulerId)).removeJobScheduler(schedulerId);
  }

  async hasScheduler(queue: QueueName, schedulerId: string): Promise<boolean> {
    return (await this.queue(queue, this.shardOfJob(queue, schedulerId)).getJobScheduler(schedulerId)) !== undefined;
  }

  async counts(queue: QueueName): Promise<QueueCounts> {
    const perShard = await Promise.all(this.shardsOf(queue).map((shard) => this.queue(queue, shard).getJobCounts(
      'waiting', 'prioritized', 'waiting-children', 'active', 'delayed', 'completed', 'failed',
    )));
    const n = (key: string): number => perShard.reduce((sum, c) => sum + (c[key] ?? 0), 0);
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
    const shards = this.shardsOf(queue);
    // The wait list is pushed at its head: ascending=false reads it newest first.
    if (shards.length === 1) return (await this.queue(queue, shards[0]).getJobs(['wait'], start, end, false)).map(toStoredJob);
    // Sharded: the first end + 1 of each shard hold the first end + 1 of all, merged by age.
    const all = (await Promise.all(shards.map((shard) => this.queue(queue, shard).getJobs(['wait'], 0, end, false)))).flat();
    return all.sort((a, b) => b.timestamp - a.timestamp).slice(start, end + 1).map(toStoredJob);
  }

  async get(queue: QueueName, jobId: string): Promise<StoredJob | null> {
    // A reserved id names one of the queue's own keys, never a job (see RESERVED_JOB_IDS).
    if (jobId === '' || RESERVED_JOB_IDS.has(jobId)) return null;
    const q = this.queue(queue, this.shardOfJob(queue, jobId));
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
    const shards = this.shardsOf(queue);
    // The budget is the consumer's, not each shard's: split evenly (at least one job per shard),
    // unless shared slots hold it exactly (a worker pool's node queues): then every shard may use it all.
    const concurrency = options.slots ? options.concurrency : Math.max(1, Math.ceil(options.concurrency / shards.length));
    const consumers = shards.map((shard) => this.consume(queue, shard, handler, concurrency, options.slots));
    if (consumers.length === 1 && consumers[0]) return consumers[0];
    return {
      async close(closeOptions) {
        await Promise.all(consumers.map((c) => c.close(closeOptions)));
      },
    };
  }

  /** One BullMQ Worker on one shard of a queue, with a connection of its own. */
  private consume<T>(queue: QueueName, shard: Shard, handler: JobHandler<T>, concurrency: number, slots: JobSlots | undefined): BullMqConsumer<T> {
    const log = this.log;
    // Workers block on BZPOPMIN and must never give up a command: maxRetriesPerRequest null.
    const connection = this.openConnection({ maxRetriesPerRequest: null }, 'worker');
    const consumer = new BullMqConsumer<T>({ queue, handler, connection, log });
    const workerOptions = {
      connection,
      prefix: bullPrefix(this.options.prefix, shard, this.shards),
      concurrency,
      settings: { backoffStrategy: weftBackoffStrategy },
      ...(this.options.stalledIntervalMs === undefined ? {} : { stalledInterval: this.options.stalledIntervalMs }),
      ...(this.options.lockDurationMs === undefined ? {} : { lockDuration: this.options.lockDurationMs }),
    };
    // A consumer that shares its process's slots takes a slot before each job (bullmq-slot-worker.ts).
    const worker = slots
      ? new SlotWorker(queue, consumer.processor, workerOptions, slots)
      : new Worker<unknown, void>(queue, consumer.processor, workerOptions);
    worker.on('error', (err) => { log.warn({ err, queue, shard }, 'job queue worker error'); });
    worker.on('stalled', (jobId) => { log.warn({ queue, shard, jobId }, 'job stalled; redelivering'); });
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

  /** The shards of a port's queue: 0 … shards − 1 for a sharded queue, `[undefined]` for another. */
  private shardsOf(queue: QueueName): Shard[] {
    return isShardedQueue(queue) ? allShards(this.shards) : [undefined];
  }

  /** The shard a job (or a scheduler) of `queue` belongs to, from its id alone. */
  private shardOfJob(queue: QueueName, jobId: string): Shard {
    return isShardedQueue(queue) ? shardOf(jobShardKey(jobId), this.shards) : undefined;
  }

  private queue(name: QueueName, shard: Shard): Queue {
    this.assertOpen();
    const key = `${name}|${shard ?? ''}`;
    let queue = this.queues.get(key);
    if (!queue) {
      // One connection for every producer side; BullMQ leaves a passed-in client open.
      this.producer ??= this.openConnection(this.options.producerOptions ?? {}, 'producer');
      queue = new Queue(name, { connection: this.producer, prefix: bullPrefix(this.options.prefix, shard, this.shards) });
      queue.on('error', (err) => { this.log.warn({ err, queue: name, shard }, 'job queue error'); });
      this.queues.set(key, queue);
    }
    return queue;
  }

  /**
   * BullMQ's ESM build cannot load ioredis from connection options (it needs `require`), so
   * the adapter always hands it client instances.
   */
  private openConnection(extra: RedisOptions, role: string): RedisClient {
    const redis = openRedis(this.options.connection, extra);
    // ioredis prints unhandled 'error' events itself; BullMQ reports the same errors through
    // the queue and worker 'error' events, logged above.
    redis.on('error', (err: unknown) => { this.log.debug({ err, role }, 'redis connection error'); });
    return redis;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('BullMqJobQueue is closed');
  }
}
