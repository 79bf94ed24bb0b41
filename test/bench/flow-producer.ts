/**
 * Baseline of the fan-in row: a BullMQ FlowProducer flow, one parent (the join) with W children,
 * on the same Redis and at the worker concurrency Weft's worker has. Measured: the last child's
 * `completed` event (after its moveToFinished, the equivalent of Weft's commit) → the parent's
 * processor started.
 */
import { FlowProducer, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { withTimeout } from './waits.js';

export interface FanInBaseline {
  /** Runs one flow of `width` children; answers last child completed → parent started, in ms. */
  run(width: number): Promise<number>;
  close(): Promise<void>;
}

interface FanData {
  run: string;
  role: 'child' | 'parent';
}

export async function startFanInBaseline(input: { redisUrl: string; prefix: string; concurrency: number; timeoutMs: number }): Promise<FanInBaseline> {
  const queueName = 'bench-fan-in';
  const prefix = `{${input.prefix}-flow}`;
  const producerConnection = new Redis(input.redisUrl);
  const workerConnection = new Redis(input.redisUrl, { maxRetriesPerRequest: null });
  const producer = new FlowProducer({ connection: producerConnection, prefix });
  let lastChildDone = Number.NaN;
  let parentStarted: ((at: number) => void) | null = null;
  const worker = new Worker<FanData>(queueName, (job) => {
    if (job.data.role === 'parent') parentStarted?.(performance.now());
    return Promise.resolve(job.data.role);
  }, { connection: workerConnection, prefix, concurrency: input.concurrency });
  worker.on('completed', (job) => {
    if (job.data.role === 'child') lastChildDone = performance.now();
  });
  worker.on('error', (err) => { process.stderr.write(`flow producer baseline worker: ${err.message}\n`); });
  await worker.waitUntilReady();
  let runs = 0;
  return {
    async run(width) {
      runs += 1;
      const run = `r${runs}`;
      lastChildDone = Number.NaN;
      const started = new Promise<number>((resolve) => { parentStarted = resolve; });
      await producer.add({
        name: 'join', queueName, data: { run, role: 'parent' }, opts: { removeOnComplete: true },
        children: Array.from({ length: width }, (_v, i) => ({ name: 'child', queueName, data: { run, role: 'child' as const }, opts: { jobId: `${run}-c${i}`, removeOnComplete: true } })),
      });
      const at = await withTimeout(started, input.timeoutMs, `FlowProducer fan-in of ${width}`);
      parentStarted = null;
      return at - lastChildDone;
    },
    async close() {
      await worker.close();
      await producer.close();
      producerConnection.disconnect();
      workerConnection.disconnect();
    },
  };
}
