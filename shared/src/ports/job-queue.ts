import { NODE_TYPES, type BackoffPolicy, type NodeType } from '../flow/types.js';
import type { JobSlots } from './job-slots.js';

export const QUEUES = {
  executions: 'weft-executions',
  nodes: 'weft-nodes',
  dead: 'weft-dead',
  /** Delayed and api-triggered resumes of wait nodes (timers, events, timeouts). */
  resume: 'weft-resume',
  /** Background work of the api: workspace deletions. */
  maintenance: 'weft-maintenance',
  /** The ticks of schedules (job schedulers: one job per tick time, fleet-wide). */
  schedules: 'weft-schedules',
} as const;
/** The queue of one built-in node type's jobs (worker pools, issue 11): a bounded set of names. */
export type NodeQueueName = `${typeof QUEUES.nodes}-${NodeType}`;

/**
 * Where the jobs of a node type wait: one queue per built-in type, so that a worker consumes only
 * the types of its pool (WEFT_WORKER_NODE_TYPES) and each pool's depth is its own. The one place
 * that names a node queue: a queue-name scheme (a shard tag) composes here.
 */
export function nodeQueueFor(type: NodeType): NodeQueueName {
  return `${QUEUES.nodes}-${type}`;
}

/** Every node type's queue, in NODE_TYPES order. */
export const NODE_QUEUES: readonly NodeQueueName[] = NODE_TYPES.map(nodeQueueFor);

/**
 * `weft-nodes` itself holds no new jobs since node jobs moved to their type's queue; workers that
 * run every type still drain it (jobs enqueued before the upgrade).
 */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES] | NodeQueueName;
export const ALL_QUEUES: readonly QueueName[] = [...Object.values(QUEUES), ...NODE_QUEUES];

/**
 * The queues that are NOT sharded (`WEFT_QUEUE_SHARDS`): their jobs belong to no one execution
 * (schedules' ticks, maintenance), or they are listed as one (dead letters, newest first). Every
 * other queue, present or future, is execution-scoped: its job ids start with an execution id
 * (`jobShardKey`), and an adapter with shards spreads it by that id.
 */
export const UNSHARDED_QUEUES: ReadonlySet<QueueName> = new Set<QueueName>([QUEUES.dead, QUEUES.maintenance, QUEUES.schedules]);

export function isShardedQueue(queue: QueueName): boolean {
  return !UNSHARDED_QUEUES.has(queue);
}

/**
 * What a job is sharded by: its execution's id, the head of its id (`<executionId>[.…]`); for a
 * scheduler's tick, the scheduler's id (each tick has an id of its own).
 */
export function jobShardKey(jobId: string): string {
  const tick = schedulerTickOf(jobId);
  if (tick) return tick.schedulerId;
  const dot = jobId.indexOf('.');
  return dot < 0 ? jobId : jobId.slice(0, dot);
}

export interface EnqueueRequest<T = unknown> {
  queue: QueueName;
  name: string;
  data: T;
  /** Deterministic id; a job whose id already exists (waiting, active, delayed or retained) is dropped. */
  jobId: string;
  delayMs?: number;
  /**
   * BullMQ priority: 1 is taken first, larger later; FIFO within one priority. A job without one
   * is taken before every job with one (BullMQ's wait list goes first), so a queue's jobs either
   * all carry one (node queues: an execution's priority, nodeJobPriority) or none do.
   */
  priority?: number;
  /** Total attempts including the first; default 1. */
  attempts?: number;
  backoff?: BackoffPolicy;
  /**
   * Keep nothing of the job once it completed (default: its id is retained for a while, so that
   * a re-enqueue of the same id is dropped). For jobs whose data must not outlive them.
   */
  removeOnComplete?: boolean;
}

/**
 * A job scheduler: a job added to `queue` at each time of a cron pattern, at most one pending at
 * once. Each tick's job id is `schedulerTickJobId(schedulerId, tickMs)`, so a tick is one job
 * however many producers or consumers there are; `schedulerTickOf` reads the tick back.
 */
export interface JobSchedulerSpec<T = unknown> {
  queue: QueueName;
  schedulerId: string;
  /** Cron, 5 fields or 6 with seconds first. */
  pattern: string;
  /** IANA time zone the pattern is read in. */
  timezone: string;
  name: string;
  data: T;
  /** Attempts of each tick's job (default 1) and their backoff. */
  attempts?: number;
  backoff?: BackoffPolicy;
  /**
   * The last tick known to have run: when the scheduler is created and the pattern named a time
   * after it (missed while nothing kept the scheduler), that one newest time ticks at once. For
   * the in-memory adapter, whose schedulers die with the process; BullMQ keeps a missed tick's
   * job in Redis and runs it late itself.
   */
  missedSince?: Date;
}

/** The id BullMQ gives the job of a scheduler's tick at `tickMs`; the in-memory adapter uses the same. */
export function schedulerTickJobId(schedulerId: string, tickMs: number): string {
  return `repeat:${schedulerId}:${tickMs}`;
}

/** The scheduler and tick time of a scheduler's job id; null for any other job. */
export function schedulerTickOf(jobId: string): { schedulerId: string; tickMs: number } | null {
  const match = /^repeat:(.+):(\d+)$/.exec(jobId);
  if (!match?.[1] || !match[2]) return null;
  return { schedulerId: match[1], tickMs: Number(match[2]) };
}

export interface JobContext<T = unknown> {
  id: string;
  name: string;
  queue: QueueName;
  data: T;
  /** 1-based number of this attempt. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the consumer is force-closed (and, later, when the job is cancelled). */
  signal: AbortSignal;
}

/**
 * A handler resolves to complete the job. A throw is retried after the backoff while
 * attempts remain, unless the error is a WeftError whose category is `permanent`; a
 * WeftError's `retryAfterMs` replaces the backoff delay for that retry. A WeftError of
 * category `dependency` (Postgres or Redis unreachable) re-delays the job WITHOUT spending an
 * attempt, however often (after its `retryAfterMs` when given): an outage delays work, it never
 * fails it.
 */
export type JobHandler<T = unknown> = (job: JobContext<T>) => Promise<void>;


export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export interface JobConsumer {
  /** Stops taking jobs and waits for running ones to finish (or aborts them with `force`). */
  close(options?: { force?: boolean }): Promise<void>;
}

export interface ConsumeOptions {
  /** Jobs run at once by this consumer, whatever the adapter splits it into (e.g. per shard). */
  concurrency: number;
  /**
   * A budget of running jobs shared with other consumers of this process (a worker's pool of node
   * queues): a job is taken off the queue only while a slot is free, so the consumers together run
   * at most `slots.size` jobs, and a job waits in its queue, not in a worker, for a slot.
   */
  slots?: JobSlots;
}

/** A job as read back from a queue, e.g. a dead letter parked in `weft-dead`. */
export interface StoredJob<T = unknown> {
  id: string;
  name: string;
  data: T;
  /** Why its last attempt failed, when one did and the adapter keeps it. */
  failedReason?: string;
  /** When the job was added, ms since the epoch. */
  timestamp: number;
}

export interface ListJobsOptions {
  /** Positive integer. */
  limit: number;
  /** Jobs to skip from the newest; default 0. */
  offset?: number;
}

export interface JobQueue {
  add(job: EnqueueRequest): Promise<void>;
  addBulk(jobs: readonly EnqueueRequest[]): Promise<void>;
  /** Removes a waiting or delayed job; false when there was none (or it is active). */
  remove(queue: QueueName, jobId: string): Promise<boolean>;
  /** Moves a delayed job to waiting now (its place among its priority's jobs: last); false when it is not delayed. */
  promote(queue: QueueName, jobId: string): Promise<boolean>;
  counts(queue: QueueName): Promise<QueueCounts>;
  process<T>(queue: QueueName, handler: JobHandler<T>, options: ConsumeOptions): JobConsumer;
  /**
   * Waiting jobs (neither delayed nor active), newest first. Meant for parking queues that
   * nobody consumes, like `weft-dead`: on a consumed queue the answer is a moving snapshot.
   */
  list(queue: QueueName, options: ListJobsOptions): Promise<StoredJob[]>;
  /** An unfinished job (waiting, delayed or active); null when there is none. */
  get(queue: QueueName, jobId: string): Promise<StoredJob | null>;
  /**
   * Removes every job of these executions from every queue, whatever its state (waiting, delayed,
   * finished or parked as a dead letter): the jobs whose id is an execution id or starts with
   * `<executionId>.`. A job running now is left alone and counted in `busy`: call again once it
   * has ended. Used by workspace deletion; it scans the queues' keys, so it is not for hot paths.
   */
  purgeExecutions(executionIds: readonly string[]): Promise<{ removed: number; busy: number }>;
  /**
   * Creates or replaces a job scheduler (its next tick recomputed from now). A tick that no
   * consumer took while the fleet was down runs once when one comes back, late; the ticks in
   * between are not made up (at most one catch-up).
   */
  upsertScheduler(spec: JobSchedulerSpec): Promise<void>;
  /** Removes a scheduler and its pending tick; false when there was none. */
  removeScheduler(queue: QueueName, schedulerId: string): Promise<boolean>;
  /** Whether the scheduler exists. */
  hasScheduler(queue: QueueName, schedulerId: string): Promise<boolean>;
  /** Closes consumers and connections this adapter opened. */
  close(): Promise<void>;
}

/** The execution a job id belongs to, when it is one of `executionIds` (ids are `<executionId>[.…]`). */
export function jobExecutionId(jobId: string, executionIds: ReadonlySet<string>): string | null {
  const dot = jobId.indexOf('.');
  const head = dot < 0 ? jobId : jobId.slice(0, dot);
  return executionIds.has(head) ? head : null;
}

/**
 * Names of BullMQ's own queue keys. A job's key is `<prefix>:<queue>:<jobId>`, so these ids
 * would land on the queue's own keys (the delayed set, the wait list…) and corrupt the queue
 * instead of adding a job.
 */
export const RESERVED_JOB_IDS: ReadonlySet<string> = new Set([
  'active', 'wait', 'waiting-children', 'paused', 'id', 'delayed', 'prioritized', 'stalled-check',
  'completed', 'failed', 'stalled', 'repeat', 'limiter', 'meta', 'events', 'pc', 'marker', 'de', 'metrics',
]);

/**
 * What every JobQueue adapter refuses in an EnqueueRequest; answers the job id. An empty id
 * would let BullMQ invent one, and dedupe would silently stop working.
 */
export function checkEnqueueRequest(job: EnqueueRequest): string {
  const id = job.jobId;
  if (typeof id !== 'string' || id === '') throw new Error('jobId is required');
  if (RESERVED_JOB_IDS.has(id)) throw new Error(`jobId '${id}' is reserved by BullMQ`);
  const attempts = job.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  }
  const delay = job.delayMs ?? 0;
  if (!Number.isFinite(delay) || delay < 0) throw new RangeError(`delayMs must be >= 0, got ${delay}`);
  // BullMQ's range.
  if (job.priority !== undefined && (!Number.isInteger(job.priority) || job.priority < 1 || job.priority > 2_097_152)) {
    throw new RangeError(`priority must be an integer from 1 to 2097152, got ${job.priority}`);
  }
  return id;
}
