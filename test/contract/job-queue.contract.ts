/**
 * The JobQueue conformance suite: every adapter of the port runs it (job-queue.test.ts). It
 * synchronises on handler calls and queue counts, never on elapsed time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../shared/src/errors/index.js';
import { JobSlots } from '../../shared/src/ports/job-slots.js';
import {
  QUEUES,
  nodeQueueFor,
  schedulerTickOf,
  type EnqueueRequest,
  type JobConsumer,
  type JobContext,
  type JobHandler,
  type JobQueue,
  type QueueCounts,
} from '../../shared/src/ports/job-queue.js';
import { waitFor } from '../helpers/wait-for.js';

export interface JobQueueFixture {
  queue: JobQueue;
  cleanup(): Promise<void>;
}

const Q = QUEUES.nodes;

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** A handler from synchronous code; a throw becomes the rejection the port expects. */
export function syncHandler<T>(fn: (ctx: JobContext<T>) => void): JobHandler<T> {
  return (ctx) => Promise.resolve().then(() => { fn(ctx); });
}

function job(jobId: string, extra: Partial<EnqueueRequest> = {}): EnqueueRequest {
  return { queue: Q, name: 'test-job', data: { jobId }, jobId, ...extra };
}

const NO_COUNTS: QueueCounts = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };

export interface JobQueueContractOptions {
  /**
   * The adapter spreads a queue over shards (BullMqJobQueue with `shards` > 1): jobs of different
   * executions keep no order among them, and a consumer's concurrency is split over the shards,
   * one job each at least, so the exact-concurrency test does not apply.
   */
  sharded?: boolean;
}

export function jobQueueContract(name: string, makeQueue: () => Promise<JobQueueFixture>, options: JobQueueContractOptions = {}): void {
  describe(`JobQueue contract: ${name}`, () => {
    let fixture: JobQueueFixture;
    let queue: JobQueue;
    let consumers: JobConsumer[];

    beforeEach(async () => {
      fixture = await makeQueue();
      queue = fixture.queue;
      consumers = [];
    });

    afterEach(async () => {
      // Force: a test that failed half-way must not leave a handler holding close() open.
      await Promise.all(consumers.map((c) => c.close({ force: true })));
      await queue.close();
      await fixture.cleanup();
    });

    function consume<T>(handler: JobHandler<T>, concurrency = 1): JobConsumer {
      const consumer = queue.process(Q, handler, { concurrency });
      consumers.push(consumer);
      return consumer;
    }

    async function countsWhen(predicate: (c: QueueCounts) => boolean, message: string, timeoutMs = 10_000): Promise<QueueCounts> {
      return waitFor(async () => {
        const c = await queue.counts(Q);
        return predicate(c) ? c : undefined;
      }, { message, timeoutMs });
    }

    it('processes jobs in order, with their name, data and attempt numbers', async () => {
      const seen: JobContext<{ jobId: string; n: number }>[] = [];
      await queue.add(job('p1', { data: { jobId: 'p1', n: 1 } }));
      await queue.addBulk([
        job('p2', { data: { jobId: 'p2', n: 2 }, attempts: 3 }),
        job('p3', { name: 'other-name', data: { jobId: 'p3', n: 3 } }),
      ]);
      consume(syncHandler<{ jobId: string; n: number }>((ctx) => { seen.push(ctx); }));
      await waitFor(() => seen.length === 3, { message: 'three jobs processed' });
      if (options.sharded) seen.sort((a, b) => a.id.localeCompare(b.id));
      expect(seen.map(({ id, name, queue: q, data, attempt, maxAttempts }) => ({ id, name, q, data, attempt, maxAttempts }))).toEqual([
        { id: 'p1', name: 'test-job', q: Q, data: { jobId: 'p1', n: 1 }, attempt: 1, maxAttempts: 1 },
        { id: 'p2', name: 'test-job', q: Q, data: { jobId: 'p2', n: 2 }, attempt: 1, maxAttempts: 3 },
        { id: 'p3', name: 'other-name', q: Q, data: { jobId: 'p3', n: 3 }, attempt: 1, maxAttempts: 1 },
      ]);
      expect(seen.every((ctx) => ctx.signal instanceof AbortSignal && !ctx.signal.aborted)).toBe(true);
      expect(await countsWhen((c) => c.completed === 3, 'three completed')).toEqual({ ...NO_COUNTS, completed: 3 });
    });

    it('drops a job whose id exists: waiting, in the same bulk, or already completed', async () => {
      const runs: string[] = [];
      await queue.add(job('dup', { data: { v: 1 } }));
      await queue.add(job('dup', { data: { v: 2 } }));
      await queue.addBulk([job('dup', { data: { v: 3 } }), job('twin', { data: { v: 1 } }), job('twin', { data: { v: 2 } })]);
      expect((await queue.counts(Q)).waiting).toBe(2);
      consume(syncHandler<{ v: number }>((ctx) => { runs.push(`${ctx.id}:${ctx.data.v}`); }));
      await countsWhen((c) => c.completed === 2, 'both jobs completed');
      await queue.add(job('dup', { data: { v: 4 } }));
      // FIFO with concurrency 1: had the re-added duplicate been kept, it would run first. The
      // sentinel's id starts with `dup.`: sharded, it shares dup's shard, where FIFO holds.
      await queue.add(job('dup.sentinel', { data: { v: 0 } }));
      await waitFor(() => runs.includes('dup.sentinel:0'), { message: 'sentinel processed' });
      if (options.sharded) expect([...runs.slice(0, 2)].sort()).toEqual(['dup:1', 'twin:1']);
      expect(options.sharded ? runs.slice(2) : runs).toEqual(options.sharded ? ['dup.sentinel:0'] : ['dup:1', 'twin:1', 'dup.sentinel:0']);
    });

    it('refuses job ids that BullMQ refuses', async () => {
      await expect(queue.add(job('42'))).rejects.toThrow();
      await expect(queue.add(job('a:b'))).rejects.toThrow();
      // These would be the queue's own keys in Redis.
      await expect(queue.add(job('delayed'))).rejects.toThrow();
      await expect(queue.add(job('wait'))).rejects.toThrow();
      await expect(queue.addBulk([job('fine'), job('a:b')])).rejects.toThrow();
    });

    it('runs a delayed job no sooner than its delay', async () => {
      const delayMs = 400;
      let startedAt: number | undefined;
      consume(syncHandler(() => { startedAt = Date.now(); }));
      const addedAt = Date.now();
      await queue.add(job('later', { delayMs }));
      expect((await queue.counts(Q)).delayed).toBe(1);
      // No sooner than the delay; "not much later" is the wait's own time limit.
      const started = await waitFor(() => startedAt, { timeoutMs: 30_000, message: 'delayed job started' });
      expect(started - addedAt).toBeGreaterThanOrEqual(delayMs);
    });

    it('retries a failed attempt after its backoff, then succeeds', async () => {
      const attempts: Array<{ attempt: number; maxAttempts: number; at: number }> = [];
      consume(syncHandler((ctx) => {
        attempts.push({ attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, at: Date.now() });
        if (ctx.attempt === 1) throw new WeftError('LLM_SERVER_ERROR', 'upstream 500');
      }));
      await queue.add(job('flaky', { attempts: 3, backoff: { type: 'fixed', delayMs: 150 } }));
      const c = await countsWhen((x) => x.completed === 1, 'job completed on retry');
      expect(c).toEqual({ ...NO_COUNTS, completed: 1 });
      expect(attempts.map(({ attempt, maxAttempts }) => ({ attempt, maxAttempts }))).toEqual([
        { attempt: 1, maxAttempts: 3 },
        { attempt: 2, maxAttempts: 3 },
      ]);
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(150);
    });

    it("waits a WeftError's retryAfterMs instead of the backoff", async () => {
      const retryAfterMs = 500;
      let failedAt: number | undefined;
      let retriedAt: number | undefined;
      consume(syncHandler((ctx) => {
        if (ctx.attempt === 1) {
          failedAt = Date.now();
          throw new WeftError('LLM_RATE_LIMITED', 'slow down', { retryAfterMs });
        }
        retriedAt = Date.now();
      }));
      await queue.add(job('limited', { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } }));
      const retried = await waitFor(() => retriedAt, { message: 'second attempt' });
      expect(retried - failedAt!).toBeGreaterThanOrEqual(retryAfterMs);
    });

    it('does not retry a permanent error', async () => {
      let calls = 0;
      consume(syncHandler(() => {
        calls += 1;
        throw new WeftError('LLM_AUTH', 'bad key');
      }));
      await queue.add(job('denied', { attempts: 5, backoff: { type: 'fixed', delayMs: 10 } }));
      const c = await countsWhen((x) => x.failed === 1, 'job failed');
      expect(c).toEqual({ ...NO_COUNTS, failed: 1 });
      expect(calls).toBe(1);
    });

    it('re-delays a job whose dependency is down without spending an attempt, however often', async () => {
      const seen: number[] = [];
      consume(syncHandler((ctx) => {
        seen.push(ctx.attempt);
        if (seen.length <= 2) {
          const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
          throw refused;
        }
      }));
      // One attempt only: an outage must not consume it.
      await queue.add(job('outage', { attempts: 1 }));
      const c = await countsWhen((x) => x.completed === 1, 'job completed after the outage', 10_000);
      expect(c).toEqual({ ...NO_COUNTS, completed: 1 });
      expect(seen).toEqual([1, 1, 1]);
    });

    it('counts a job as failed once its attempts are exhausted', async () => {
      const attempts: Record<string, number[]> = {};
      consume(syncHandler((ctx) => {
        (attempts[ctx.id] ??= []).push(ctx.attempt);
        throw new Error('always broken');
      }));
      await queue.add(job('twice', { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } }));
      await queue.add(job('once'));
      const c = await countsWhen((x) => x.failed === 2, 'both jobs failed');
      expect(c).toEqual({ ...NO_COUNTS, failed: 2 });
      expect(attempts).toEqual({ twice: [1, 2], once: [1] });
    });

    it.skipIf(options.sharded)('never runs more jobs at once than the concurrency', async () => {
      let running = 0;
      let peak = 0;
      let done = 0;
      const gates: Array<() => void> = [];
      consume(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => { gates.push(resolve); });
        running -= 1;
        done += 1;
      }, 2);
      await queue.addBulk(['c1', 'c2', 'c3', 'c4', 'c5'].map((id) => job(id)));
      await waitFor(() => gates.length === 2, { message: 'two jobs running' });
      expect((await countsWhen((c) => c.active === 2, 'two active')).waiting).toBe(3);
      for (let released = 0; released < 5; released++) {
        await waitFor(() => gates.length > 0, { message: 'a running job to release' });
        expect(running).toBeLessThanOrEqual(2);
        gates.shift()!();
      }
      await waitFor(() => done === 5, { message: 'all jobs done' });
      expect(peak).toBe(2);
    });

    it('remove() takes out a waiting or delayed job, and nothing else', async () => {
      await queue.add(job('later', { delayMs: 60_000 }));
      await queue.add(job('queued'));
      expect(await queue.remove(Q, 'later')).toBe(true);
      expect(await queue.remove(Q, 'later')).toBe(false);
      expect(await queue.remove(Q, 'queued')).toBe(true);
      expect(await queue.remove(Q, 'missing')).toBe(false);
      expect(await queue.counts(Q)).toEqual(NO_COUNTS);

      const started = deferred();
      const release = deferred();
      const runs: string[] = [];
      consume(async (ctx) => {
        runs.push(ctx.id);
        if (ctx.id === 'busy') {
          started.resolve();
          await release.promise;
        }
      });
      await queue.add(job('busy'));
      await started.promise;
      expect(await queue.remove(Q, 'busy')).toBe(false);
      release.resolve();
      await countsWhen((c) => c.completed === 1, 'busy completed');
      expect(await queue.remove(Q, 'busy')).toBe(false);
      // A removed id is free again.
      await queue.add(job('later'));
      await waitFor(() => runs.includes('later'), { message: 're-added job processed' });
      expect(runs).toEqual(['busy', 'later']);
    });

    it("purgeExecutions() removes the executions' jobs in every state and queue, leaves a running one and others' jobs", async () => {
      const e1 = '01900000-0000-7000-8000-000000000001';
      const e2 = '01900000-0000-7000-8000-000000000002';
      const started = deferred();
      const release = deferred();
      consume(async (ctx) => {
        if (ctx.id === `${e1}.busy`) {
          started.resolve();
          await release.promise;
        }
      });
      await queue.add(job(`${e1}.done`));
      await countsWhen((c) => c.completed === 1, 'first job completed');
      await queue.add(job(`${e1}.busy`));
      await started.promise;
      await queue.add(job(`${e1}.later`, { delayMs: 60_000 }));
      await queue.add({ ...job(e1), queue: QUEUES.executions });
      await queue.add(job(`${e2}.later`, { delayMs: 60_000 }));
      expect(await queue.purgeExecutions([e1])).toEqual({ removed: 3, busy: 1 });
      release.resolve();
      await countsWhen((c) => c.completed === 1 && c.active === 0, 'busy completed');
      expect(await queue.purgeExecutions([e1])).toEqual({ removed: 1, busy: 0 });
      expect(await queue.counts(Q)).toEqual({ ...NO_COUNTS, delayed: 1 });
      expect((await queue.counts(QUEUES.executions)).waiting).toBe(0);
      // Purged ids are free again: nothing of them is retained.
      await queue.add(job(`${e1}.done`, { delayMs: 60_000 }));
      expect((await queue.counts(Q)).delayed).toBe(2);
      expect(await queue.purgeExecutions([])).toEqual({ removed: 0, busy: 0 });
    });

    it('keeps nothing of a job added with removeOnComplete once it completed: its id is free again', async () => {
      const runs: string[] = [];
      consume(syncHandler((ctx) => { runs.push(ctx.id); }));
      await queue.add(job('gone', { removeOnComplete: true }));
      await queue.add(job('kept'));
      await waitFor(() => runs.length === 2, { message: 'both processed' });
      await countsWhen((c) => c.completed === 1 && c.active === 0, 'only the kept job retained');
      await queue.add(job('gone', { removeOnComplete: true }));
      await queue.add(job('kept'));
      await queue.add(job('sentinel'));
      await waitFor(() => runs.length === 4 || (runs.includes('sentinel') && !options.sharded), { message: 'sentinel processed' });
      // Sharded, the jobs of different ids run in no set order: what runs is what counts.
      if (options.sharded) expect([...runs].sort()).toEqual(['gone', 'gone', 'kept', 'sentinel']);
      else expect(runs).toEqual(['gone', 'kept', 'gone', 'sentinel']);
    });

    it('counts() reports jobs by state', async () => {
      expect(await queue.counts(Q)).toEqual(NO_COUNTS);
      await queue.addBulk([job('hold'), job('deny'), job('future', { delayMs: 60_000 })]);
      expect(await queue.counts(Q)).toEqual({ ...NO_COUNTS, waiting: 2, delayed: 1 });
      const release = deferred();
      consume(async (ctx) => {
        if (ctx.id === 'hold') await release.promise;
        else throw new WeftError('INVALID_FLOW', 'no');
      });
      // Sharded, `deny` may run beside `hold` (each shard takes one job at least).
      await countsWhen((c) => c.active === 1 && (options.sharded ? c.waiting + c.failed === 1 : c.waiting === 1), 'one active, one waiting');
      release.resolve();
      const c = await countsWhen((x) => x.completed === 1 && x.failed === 1, 'one completed, one failed');
      expect(c).toEqual({ ...NO_COUNTS, delayed: 1, completed: 1, failed: 1 });
    });

    it('graceful close lets a running job finish, then takes no more jobs', async () => {
      const started = deferred();
      const release = deferred();
      const events: string[] = [];
      let abortedInHandler: boolean | undefined;
      const consumer = consume(async (ctx) => {
        started.resolve();
        await release.promise;
        abortedInHandler = ctx.signal.aborted;
        events.push('job finished');
      });
      await queue.add(job('slow'));
      await started.promise;
      const closing = consumer.close().then(() => { events.push('consumer closed'); });
      release.resolve();
      await closing;
      expect(events).toEqual(['job finished', 'consumer closed']);
      expect(abortedInHandler).toBe(false);
      expect(await countsWhen((c) => c.completed === 1, 'slow completed')).toEqual({ ...NO_COUNTS, completed: 1 });
      await queue.add(job('after-close'));
      expect((await queue.counts(Q)).waiting).toBe(1);
    });

    it("force close aborts the running job's signal without failing or completing it", async () => {
      const started = deferred<AbortSignal>();
      const consumer = consume(async (ctx) => {
        started.resolve(ctx.signal);
        await new Promise((resolve) => { ctx.signal.addEventListener('abort', resolve, { once: true }); });
        throw new Error('aborted');
      });
      await queue.add(job('stuck', { attempts: 3 }));
      const signal = await started.promise;
      await consumer.close({ force: true });
      expect(signal.aborted).toBe(true);
      const c = await queue.counts(Q);
      expect(c.completed + c.failed).toBe(0);
    });

    it('a force close ends a graceful close that waits on a stuck job', async () => {
      const started = deferred<AbortSignal>();
      const consumer = consume(async (ctx) => {
        started.resolve(ctx.signal);
        await new Promise<never>(() => undefined);
      });
      await queue.add(job('wedged'));
      const signal = await started.promise;
      const events: string[] = [];
      const graceful = consumer.close().then(() => { events.push('graceful resolved'); });
      await consumer.close({ force: true });
      await graceful;
      expect(signal.aborted).toBe(true);
      expect(events).toEqual(['graceful resolved']);
    });

    it('list() reads the waiting jobs of a parking queue, newest first, a page at a time', async () => {
      const D = QUEUES.dead;
      expect(await queue.list(D, { limit: 10 })).toEqual([]);
      const before = Date.now();
      for (const id of ['d1', 'd2', 'd3']) {
        await queue.add({ queue: D, name: 'dead-letter', data: { id, n: Number(id.slice(1)) }, jobId: id });
      }
      await queue.add({ queue: D, name: 'dead-letter', data: { id: 'later' }, jobId: 'later', delayMs: 60_000 });
      const all = await queue.list(D, { limit: 10 });
      expect(all.map(({ id, name, data }) => ({ id, name, data }))).toEqual([
        { id: 'd3', name: 'dead-letter', data: { id: 'd3', n: 3 } },
        { id: 'd2', name: 'dead-letter', data: { id: 'd2', n: 2 } },
        { id: 'd1', name: 'dead-letter', data: { id: 'd1', n: 1 } },
      ]);
      for (const j of all) {
        expect(j.timestamp).toBeGreaterThanOrEqual(before - 1000);
        expect(j.timestamp).toBeLessThanOrEqual(Date.now() + 1000);
        expect(j.failedReason).toBeUndefined();
      }
      expect((await queue.list(D, { limit: 2 })).map((j) => j.id)).toEqual(['d3', 'd2']);
      expect((await queue.list(D, { limit: 2, offset: 2 })).map((j) => j.id)).toEqual(['d1']);
      expect(await queue.list(D, { limit: 2, offset: 3 })).toEqual([]);
      // Queues are apart: the nodes queue has none of them.
      expect(await queue.list(Q, { limit: 10 })).toEqual([]);
      expect(await queue.remove(D, 'd2')).toBe(true);
      expect((await queue.list(D, { limit: 10 })).map((j) => j.id)).toEqual(['d3', 'd1']);
      await expect(queue.list(D, { limit: 0 })).rejects.toThrow(RangeError);
      await expect(queue.list(D, { limit: 1, offset: -1 })).rejects.toThrow(RangeError);
    });

    it('list() leaves out active jobs; get() finds an unfinished job and nothing else', async () => {
      const started = deferred();
      const release = deferred();
      consume(async (ctx) => {
        if (ctx.id === 'busy') {
          started.resolve();
          await release.promise;
        }
      });
      await queue.add(job('busy', { data: { v: 'busy' } }));
      await started.promise;
      await queue.add(job('future', { data: { v: 'future' }, delayMs: 60_000 }));
      expect(await queue.list(Q, { limit: 10 })).toEqual([]);
      expect(await queue.get(Q, 'busy')).toMatchObject({ id: 'busy', name: 'test-job', data: { v: 'busy' } });
      expect(await queue.get(Q, 'future')).toMatchObject({ id: 'future', data: { v: 'future' }, timestamp: expect.any(Number) });
      expect(await queue.get(QUEUES.dead, 'busy')).toBeNull();
      expect(await queue.get(Q, 'missing')).toBeNull();
      // A reserved id names the queue's own keys in Redis: it is no job, and no error either.
      expect(await queue.get(Q, 'wait')).toBeNull();
      release.resolve();
      await countsWhen((c) => c.completed === 1, 'busy completed');
      // Finished jobs are kept for dedupe only.
      expect(await queue.get(Q, 'busy')).toBeNull();
      expect(await queue.remove(Q, 'future')).toBe(true);
      expect(await queue.get(Q, 'future')).toBeNull();
    });

    it('redelivers a force-closed job to another consumer without counting an attempt', async () => {
      const first = deferred();
      const firstConsumer = consume(async () => {
        first.resolve();
        // A handler that ignores its signal: only redelivery can save the job.
        await new Promise<never>(() => undefined);
      });
      await queue.add(job('orphan', { attempts: 2 }));
      await first.promise;
      await firstConsumer.close({ force: true });
      const redelivered = deferred<JobContext>();
      consume(syncHandler((ctx) => { redelivered.resolve(ctx); }));
      const ctx = await redelivered.promise;
      expect({ id: ctx.id, attempt: ctx.attempt }).toEqual({ id: 'orphan', attempt: 1 });
      expect(await countsWhen((c) => c.completed === 1, 'orphan completed')).toEqual({ ...NO_COUNTS, completed: 1 });
    }, 20_000);

    it('a job scheduler adds one job per tick time, named by its scheduler and tick, until removed', async () => {
      const ticks: Array<{ schedulerId: string; tickMs: number }> = [];
      const S = QUEUES.schedules;
      consumers.push(queue.process(S, syncHandler((ctx) => {
        const tick = schedulerTickOf(ctx.id);
        if (tick) ticks.push(tick);
        expect(ctx.data).toEqual({ n: 1 });
      }), { concurrency: 2 }));
      await queue.upsertScheduler({ queue: S, schedulerId: 'every-second', pattern: '* * * * * *', timezone: 'UTC', name: 'tick', data: { n: 1 } });
      expect(await queue.hasScheduler(S, 'every-second')).toBe(true);
      await waitFor(() => ticks.length >= 3, { timeoutMs: 15_000, message: 'three ticks' });
      expect(await queue.removeScheduler(S, 'every-second')).toBe(true);
      expect(await queue.hasScheduler(S, 'every-second')).toBe(false);
      const times = ticks.map((t) => t.tickMs);
      expect(ticks.every((t) => t.schedulerId === 'every-second')).toBe(true);
      expect(new Set(times).size).toBe(times.length);
      expect(times.every((ms) => ms % 1000 === 0)).toBe(true);
      expect(await queue.removeScheduler(S, 'every-second')).toBe(false);
    }, 20_000);

    it('consumers of several queues sharing slots run at most that many jobs together, and all of them', async () => {
      const slots = new JobSlots(2);
      const queues = [nodeQueueFor('llm'), nodeQueueFor('transform'), nodeQueueFor('http')];
      let running = 0;
      let most = 0;
      const done: string[] = [];
      const gates = new Map<string, Deferred>();
      for (const q of queues) {
        consumers.push(queue.process(q, async (ctx) => {
          running++;
          most = Math.max(most, running);
          const gate = deferred();
          gates.set(ctx.id, gate);
          await gate.promise;
          running--;
          done.push(ctx.id);
        }, { concurrency: 2, slots }));
      }
      await Promise.all(queues.flatMap((q) => [1, 2].map((n) => queue.add({ queue: q, name: 'n', data: {}, jobId: `${q.slice(-3)}.${n}` }))));
      // Two run, held; the other four wait in their queues for a slot.
      await waitFor(() => gates.size === 2, { message: 'two jobs running' });
      const waiting = await Promise.all(queues.map(async (q) => (await queue.counts(q)).waiting));
      expect(waiting.reduce((a, b) => a + b, 0)).toBe(4);
      // Release them one by one: each release lets exactly one more start.
      for (let released = 0; released < 6; released++) {
        const open = [...gates.entries()].find(([id]) => !done.includes(id));
        if (!open) throw new Error('no running job to release');
        open[1].resolve();
        await waitFor(() => done.length === released + 1 && (released + 1 === 6 || gates.size === Math.min(6, released + 3)), { message: `job ${released + 1} released` });
      }
      expect(done).toHaveLength(6);
      expect(most).toBe(2);
      expect(slots.inUse).toBe(0);
    });

    it('takes jobs by priority, lowest number first, first come first served within one', async () => {
      // One execution's jobs (one id head): one shard, where BullMQ's order holds.
      const order: string[] = [];
      await queue.addBulk([
        job('prio.low1', { priority: 3 }), job('prio.normal1', { priority: 2 }), job('prio.low2', { priority: 3 }),
        job('prio.high1', { priority: 1 }), job('prio.normal2', { priority: 2 }), job('prio.high2', { priority: 1 }),
      ]);
      await expect(queue.add(job('bad', { priority: 0 }))).rejects.toThrow(RangeError);
      expect((await queue.counts(Q)).waiting).toBe(6);
      consume(syncHandler((ctx) => { order.push(ctx.id); }));
      await waitFor(() => order.length === 6, { message: 'six jobs processed' });
      expect(order).toEqual(['prio.high1', 'prio.high2', 'prio.normal1', 'prio.normal2', 'prio.low1', 'prio.low2']);
    });

    it('promotes a delayed job to waiting at once, and nothing else', async () => {
      const ran: string[] = [];
      await queue.add(job('parked', { delayMs: 600_000 }));
      await queue.add(job('plain'));
      expect(await queue.promote(Q, 'plain')).toBe(false);
      expect(await queue.promote(Q, 'nothing')).toBe(false);
      expect(await queue.promote(Q, 'parked')).toBe(true);
      expect(await queue.promote(Q, 'parked')).toBe(false);
      consume(syncHandler((ctx) => { ran.push(ctx.id); }));
      await waitFor(() => ran.length === 2, { message: 'both jobs ran' });
      expect(ran.sort()).toEqual(['parked', 'plain']);
    });
  });
}
