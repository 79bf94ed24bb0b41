/**
 * The memory queue's jobs: what it keeps of one, the requests it refuses (what BullMQ refuses,
 * so that embedded mode catches the same mistakes) and how long finished ids are retained.
 */
import type { BackoffPolicy } from '../../flow/types.js';
import { checkEnqueueRequest, type EnqueueRequest, type QueueName, type StoredJob } from '../../ports/job-queue.js';

/** Same retention as the BullMQ adapter (removeOnComplete / removeOnFail). */
export const MEMORY_COMPLETED_RETENTION = { ageMs: 3600_000, count: 10_000 } as const;
export const MEMORY_FAILED_RETENTION = { ageMs: 7 * 24 * 3600_000 } as const;

export interface MemoryJob {
  queue: QueueName;
  id: string;
  name: string;
  data: unknown;
  maxAttempts: number;
  backoff: BackoffPolicy | undefined;
  /** Failed attempts so far, as BullMQ's attemptsMade. */
  attemptsMade: number;
  state: 'waiting' | 'delayed' | 'active';
  timer: NodeJS.Timeout | undefined;
  /** When it was added (the queue's clock), as BullMQ's job timestamp. */
  addedAt: number;
  /** Insertion order, for `list()`: jobs added in the same millisecond stay ordered. */
  seq: number;
  /** Keep no id once completed (EnqueueRequest.removeOnComplete). */
  removeOnComplete: boolean;
  /** EnqueueRequest.priority; 0: none (taken before every prioritized job, as BullMQ's wait list). */
  priority: number;
}

export function toStoredJob(job: MemoryJob): StoredJob {
  return { id: job.id, name: job.name, data: job.data, timestamp: job.addedAt };
}

export function pruneFinished(finished: Map<string, number>, limits: { before: number; max: number }): void {
  for (const [id, at] of finished) {
    if (at > limits.before && finished.size <= limits.max) return;
    finished.delete(id);
  }
}

/** Refuses what BullMQ refuses, so that embedded mode catches the same mistakes. */
export function validateRequest(job: EnqueueRequest): void {
  const id = checkEnqueueRequest(job);
  // BullMQ refuses these itself (the BullMQ adapter leaves them to it).
  if (`${parseInt(id, 10)}` === id) throw new Error('Custom Id cannot be integers');
  if (id.includes(':')) throw new Error('Custom Id cannot contain :');
}
