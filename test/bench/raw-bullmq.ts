/**
 * Baseline of the transition and hop rows: bare BullMQ on the same Redis, in the bench process. A chain is K no-op jobs; each job's processor
 * enqueues the next one with a deterministic id, the way Weft enqueues a ready child, and with
 * the retention options Weft's queue adapter uses. The chain ends when its last job has run.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { COMPLETED_RETENTION, FAILED_RETENTION } from '@weft/shared/adapters/redis';
import { CompletionTracker, runTrackedBatch } from './completion-tracker.js';
import { withTimeout } from './waits.js';

interface StepData {
  chain: string;
  step: number;
}

export interface RawBatch {
  /** From the enqueue of the batch to the end of its last chain. */
  wallMs: number;
  /** Per chain, from the enqueue of the batch to its end. */
  latenciesMs: number[];
  /** Per hop: a job's `queue.add` of the next → the next job's processor started. */
  hopsMs: number[];
}

export interface RawBullMq {
  runBatch(count: number): Promise<RawBatch>;
  /** Key prefix of its queue, without braces: keys are `{<prefix>}:bench-chain:…`. */
  prefix: string;
  close(): Promise<void>;
}

export async function startRawBullMq(input: { redisUrl: string; prefix: string; nodes: number; concurrency: number; timeoutMs: number }): Promise<RawBullMq> {
  const queueName = 'bench-chain';
  const keyPrefix = `${input.prefix}-raw`;
  const prefix = `{${keyPrefix}}`;
  // Same connection layout as Weft's adapter: one producer connection, one per worker.
  const producer = new Redis(input.redisUrl);
  const workerConnection = new Redis(input.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<StepData>(queueName, { connection: producer, prefix });
  const tracker = new CompletionTracker();
  /** Every job of a chain moved to completed: all of its Redis work is done (Weft waits for its flush likewise). */
  const settled = new CompletionTracker();
  const completedJobs = new Map<string, number>();
  /** performance.now() of each chained `queue.add`, by job id, until its job starts. */
  const addedAt = new Map<string, number>();
  let hops: number[] = [];
  const options = (chain: string, step: number): { jobId: string; attempts: number; removeOnComplete: typeof COMPLETED_RETENTION; removeOnFail: typeof FAILED_RETENTION } => ({
    jobId: `${chain}.n${step}`, attempts: 1, removeOnComplete: COMPLETED_RETENTION, removeOnFail: FAILED_RETENTION,
  });

  const worker = new Worker<StepData>(queueName, async (job) => {
    const { chain, step } = job.data;
    const added = job.id === undefined ? undefined : addedAt.get(job.id);
    if (added !== undefined && job.id !== undefined) {
      hops.push(performance.now() - added);
      addedAt.delete(job.id);
    }
    if (step + 1 < input.nodes) {
      addedAt.set(options(chain, step + 1).jobId, performance.now());
      await queue.add('step', { chain, step: step + 1 }, options(chain, step + 1));
    } else {
      tracker.done(chain);
    }
  }, { connection: workerConnection, prefix, concurrency: input.concurrency });
  worker.on('completed', (job) => {
    const { chain } = job.data;
    const n = (completedJobs.get(chain) ?? 0) + 1;
    if (n < input.nodes) {
      completedJobs.set(chain, n);
      return;
    }
    completedJobs.delete(chain);
    settled.done(chain);
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    tracker.fail(job.data.chain, err.message);
    settled.fail(job.data.chain, err.message);
  });
  worker.on('error', (err) => { process.stderr.write(`raw bullmq worker error: ${err.message}\n`); });
  await worker.waitUntilReady();
  await queue.waitUntilReady();

  let batch = 0;
  return {
    prefix: keyPrefix,
    async runBatch(count: number): Promise<RawBatch> {
      batch += 1;
      hops = [];
      const ids = Array.from({ length: count }, (_v, i) => `b${batch}-c${i}`);
      const done = Promise.all(ids.map((id) => settled.expect(id)));
      // Rejections are awaited below, or abandoned with the batch when it fails first.
      done.catch(() => undefined);
      try {
        const { latenciesMs, wallMs } = await runTrackedBatch({
          tracker,
          ids,
          timeoutMs: input.timeoutMs,
          what: 'raw BullMQ batch',
          enqueue: async () => {
            await queue.addBulk(ids.map((chain) => ({ name: 'step', data: { chain, step: 0 }, opts: options(chain, 0) })));
          },
        });
        await withTimeout(done, input.timeoutMs, 'raw BullMQ batch: every job moved to completed');
        return { wallMs, latenciesMs, hopsMs: hops };
      } finally {
        settled.forget(ids);
        for (const id of ids) completedJobs.delete(id);
        addedAt.clear();
      }
    },
    async close() {
      await worker.close();
      await queue.close();
      producer.disconnect();
      workerConnection.disconnect();
    },
  };
}
