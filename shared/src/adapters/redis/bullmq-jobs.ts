/**
 * How the port's jobs map onto BullMQ's: options of an enqueued job (id checks, attempts,
 * delay, backoff, retention), the page range of a listing, and a stored job as the port sees it.
 */
import type { Job, JobsOptions } from 'bullmq';
import { checkEnqueueRequest, type EnqueueRequest, type ListJobsOptions, type StoredJob } from '../../ports/job-queue.js';
import { encodeBackoff } from './bullmq-backoff.js';

/** Finished jobs are kept this long so that a re-enqueue of their id is still dropped. */
export const COMPLETED_RETENTION = { age: 3600, count: 10_000 } as const;
export const FAILED_RETENTION = { age: 7 * 24 * 3600 } as const;

export { RESERVED_JOB_IDS } from '../../ports/job-queue.js';

export interface BullJob {
  name: string;
  data: unknown;
  opts: JobsOptions;
}

export function toBullJob(job: EnqueueRequest): BullJob {
  checkEnqueueRequest(job);
  const delay = job.delayMs ?? 0;
  return {
    name: job.name,
    data: job.data,
    opts: {
      jobId: job.jobId,
      attempts: job.attempts ?? 1,
      backoff: encodeBackoff(job.backoff),
      ...(delay > 0 ? { delay: Math.round(delay) } : {}),
      ...(job.priority === undefined ? {} : { priority: job.priority }),
      removeOnComplete: job.removeOnComplete === true ? true : COMPLETED_RETENTION,
      removeOnFail: FAILED_RETENTION,
    },
  };
}

/** The inclusive index range of a page, validated like the port's other inputs. */
export function listRange(options: ListJobsOptions): { start: number; end: number } {
  const offset = options.offset ?? 0;
  if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`limit must be a positive integer, got ${options.limit}`);
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  return { start: offset, end: offset + options.limit - 1 };
}

export function toStoredJob(job: Job): StoredJob {
  return {
    id: job.id ?? '',
    name: job.name,
    data: job.data as unknown,
    // BullMQ leaves failedReason unset (or empty) on a job that never failed.
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    timestamp: job.timestamp,
  };
}
