import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BullMqJobQueue, type BullMqJobQueueOptions } from '../../shared/src/adapters/redis/bullmq-queue.js';
import { bullPrefix, shardOf } from '../../shared/src/adapters/redis/keys.js';
import { nodeJobId } from '../../shared/src/jobs/index.js';
import { MemoryJobQueue } from '../../shared/src/adapters/memory/memory-queue.js';
import { QUEUES, type JobContext } from '../../shared/src/ports/job-queue.js';
import { createTestServices, uniqueId, type TestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { deferred, jobQueueContract, syncHandler } from './job-queue.contract.js';

let svc: TestServices;
beforeAll(async () => { svc = await createTestServices(); });
afterAll(async () => { await svc.cleanup(); });

/** Short lock and stall check so that redelivery of an abandoned job takes about a second. */
const FAST_STALL = { lockDurationMs: 1000, stalledIntervalMs: 300 } as const;

function bullOptions(prefix: string, shards = 1): BullMqJobQueueOptions {
  return { connection: { urls: [svc.redisUrl], cluster: false }, prefix, shards, ...FAST_STALL };
}

/** Every test gets its own prefix, so one test's jobs never show up in another's counts. */
function testPrefix(): string {
  return `${svc.prefix}${uniqueId(6)}`;
}

async function deleteBullKeys(prefix: string): Promise<void> {
  const redis = new Redis(svc.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      // `{<prefix>}:*` and, with shards, `{<prefix>:<shard>}:*`.
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}[}:]*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

jobQueueContract('memory', () => Promise.resolve({ queue: new MemoryJobQueue(), cleanup: () => Promise.resolve() }));

jobQueueContract('bullmq', () => {
  const prefix = testPrefix();
  return Promise.resolve({ queue: new BullMqJobQueue(bullOptions(prefix)), cleanup: () => deleteBullKeys(prefix) });
});

jobQueueContract('bullmq, 4 shards', () => {
  const prefix = testPrefix();
  return Promise.resolve({ queue: new BullMqJobQueue(bullOptions(prefix, 4)), cleanup: () => deleteBullKeys(prefix) });
}, { sharded: true });

describe('BullMqJobQueue with shards', () => {
  it('puts each job in its execution\'s shard, finds it there by id, and consumes and counts every shard', async () => {
    const prefix = testPrefix();
    const queue = new BullMqJobQueue(bullOptions(prefix, 4));
    const redis = new Redis(svc.redisUrl);
    try {
      const executions = Array.from({ length: 40 }, (_, i) => `ex${i}`);
      await queue.addBulk(executions.map((id) => ({ queue: QUEUES.nodes, name: 'n', data: {}, jobId: nodeJobId(id, 'a') })));
      await queue.add({ queue: QUEUES.dead, name: 'dead-letter', data: {}, jobId: 'ex0.a.dead' });
      // Each job's hash sits under its execution's shard prefix; the dead letter stays unsharded.
      for (const id of executions) {
        expect(await redis.exists(`${bullPrefix(prefix, shardOf(id, 4), 4)}:${QUEUES.nodes}:${nodeJobId(id, 'a')}`), id).toBe(1);
      }
      expect(await redis.exists(`{${prefix}}:${QUEUES.dead}:ex0.a.dead`)).toBe(1);
      expect(new Set(executions.map((id) => shardOf(id, 4))).size).toBeGreaterThanOrEqual(2);
      expect((await queue.counts(QUEUES.nodes)).waiting).toBe(40);
      expect(await queue.get(QUEUES.nodes, nodeJobId('ex7', 'a'))).toMatchObject({ id: nodeJobId('ex7', 'a') });
      expect(await queue.remove(QUEUES.nodes, nodeJobId('ex7', 'a'))).toBe(true);
      expect(await queue.purgeExecutions(['ex8', 'ex9'])).toEqual({ removed: 2, busy: 0 });
      const seen = new Set<string>();
      const consumer = queue.process(QUEUES.nodes, (ctx) => { seen.add(ctx.id); return Promise.resolve(); }, { concurrency: 8 });
      await waitFor(() => seen.size === 37, { message: 'every shard consumed' });
      await waitFor(async () => (await queue.counts(QUEUES.nodes)).completed === 37, { message: 'completions counted over the shards' });
      await consumer.close();
    } finally {
      redis.disconnect();
      await queue.close();
      await deleteBullKeys(prefix);
    }
  });
});

describe('BullMqJobQueue', () => {
  it('redelivers the job of a worker that was disconnected mid-run to another process', async () => {
    const prefix = testPrefix();
    // Two adapters stand for two worker processes.
    const dying = new BullMqJobQueue(bullOptions(prefix));
    const survivor = new BullMqJobQueue(bullOptions(prefix));
    try {
      const taken = deferred();
      let dyingFinished = false;
      const doomed = dying.process(QUEUES.nodes, async () => {
        taken.resolve();
        // Never settles: the process "died" before it could report anything.
        await new Promise<never>(() => undefined);
        dyingFinished = true;
      }, { concurrency: 1 });
      await dying.add({ queue: QUEUES.nodes, name: 'n', data: { step: 1 }, jobId: 'exec1.nodeA', attempts: 3 });
      await taken.promise;
      // Closes the worker's connections without completing the job: its lock is no longer
      // renewed and only the stall check of a live worker can bring the job back.
      await doomed.close({ force: true });
      expect((await survivor.counts(QUEUES.nodes)).active).toBe(1);

      const redelivered = deferred<JobContext<{ step: number }>>();
      survivor.process(QUEUES.nodes, syncHandler<{ step: number }>((ctx) => { redelivered.resolve(ctx); }), { concurrency: 1 });
      const ctx = await redelivered.promise;
      expect({ id: ctx.id, data: ctx.data, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts })
        .toEqual({ id: 'exec1.nodeA', data: { step: 1 }, attempt: 1, maxAttempts: 3 });
      await waitFor(async () => (await survivor.counts(QUEUES.nodes)).completed === 1, { message: 'redelivered job completed' });
      expect(dyingFinished).toBe(false);
    } finally {
      await dying.close();
      await survivor.close();
      await deleteBullKeys(prefix);
    }
  }, 20_000);

  it('keeps finished jobs for dedupe with the configured retention', async () => {
    const prefix = testPrefix();
    const queue = new BullMqJobQueue(bullOptions(prefix));
    const redis = new Redis(svc.redisUrl);
    const inspector = new Queue(QUEUES.executions, { connection: redis, prefix: bullPrefix(prefix) });
    try {
      await queue.add({ queue: QUEUES.executions, name: 'e', data: {}, jobId: 'exec-retained' });
      const consumer = queue.process(QUEUES.executions, () => Promise.resolve(), { concurrency: 1 });
      await waitFor(async () => (await queue.counts(QUEUES.executions)).completed === 1);
      await consumer.close();
      const stored = await inspector.getJob('exec-retained');
      expect(stored?.opts.removeOnComplete).toEqual({ age: 3600, count: 10_000 });
      expect(stored?.opts.removeOnFail).toEqual({ age: 7 * 24 * 3600 });
    } finally {
      await inspector.close();
      redis.disconnect();
      await queue.close();
      await deleteBullKeys(prefix);
    }
  });
});

describe('MemoryJobQueue', () => {
  it('forgets a completed id after an hour and a failed one after 7 days, like BullMQ', async () => {
    let now = 1_000_000;
    const queue = new MemoryJobQueue({ clock: () => now });
    const runs: string[] = [];
    const consumer = queue.process(QUEUES.nodes, syncHandler((ctx) => {
      runs.push(ctx.id);
      if (ctx.id === 'bad') throw new Error('broken');
    }), { concurrency: 1 });
    const add = (jobId: string): Promise<void> => queue.add({ queue: QUEUES.nodes, name: 'n', data: {}, jobId });
    await add('good');
    await add('bad');
    await waitFor(async () => { const c = await queue.counts(QUEUES.nodes); return c.completed === 1 && c.failed === 1; });

    now += 3600_000 - 1;
    await add('good');
    await add('sentinel-1');
    await waitFor(() => runs.includes('sentinel-1'));
    expect(runs).toEqual(['good', 'bad', 'sentinel-1']);

    now += 2;
    await add('good');
    await add('bad');
    await add('sentinel-2');
    await waitFor(() => runs.includes('sentinel-2'));
    expect(runs).toEqual(['good', 'bad', 'sentinel-1', 'good', 'sentinel-2']);

    now += 7 * 24 * 3600_000;
    await add('bad');
    await waitFor(() => runs.length === 6);
    expect(runs.at(-1)).toBe('bad');
    await consumer.close();
    await queue.close();
  });
});
