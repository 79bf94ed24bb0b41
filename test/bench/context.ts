/** What every row of the bench works with, built once by run.ts. */
import type { Redis } from 'ioredis';
import type { EventObserver, SeenEvent } from './event-observer.js';
import { mapLimit } from './interleave.js';
import type { BenchOptions } from './options.js';
import type { Row } from './report.js';
import type { BenchServices } from './services.js';
import type { WeftClient, WeftStack } from './weft-stack.js';

export interface BenchContext {
  options: BenchOptions;
  services: BenchServices;
  stack: WeftStack;
  observer: EventObserver;
  /** The bench's own Redis connection (INFO). */
  redis: Redis;
  mockUrl: string;
  /** Rows measured so far, in table order (printed even when the deadline cuts the run). */
  rows: Row[];
  /** Raw figures beyond the rows (command tallies, autocannon results), for the JSON. */
  details: Record<string, unknown>;
  progress(text: string): void;
  /** Resolves once Weft's flush log is empty: what the batches so far wrote is all in Postgres. */
  drained(): Promise<void>;
}

/** Starts of a batch go through the REST api, at most this many requests in flight. */
const START_CONCURRENCY = 64;

/** What a batch runs on: a client of the workspace, and an observer of its events. */
export interface BatchTarget {
  stack: Pick<WeftClient, 'startExecution'>;
  observer: Pick<EventObserver, 'waitForEnds' | 'forget'>;
  options: Pick<BenchOptions, 'timeoutMs'>;
  /** Waits for the work a batch leaves behind after its ends (BenchContext.drained); absent: none to wait for. */
  drained?: () => Promise<void>;
}

/**
 * Starts `count` executions of `flowId` through the api at once and waits for all of them to
 * complete (as the target's observer sees them: on Redis, or on the api's WebSocket). `t0` is
 * the moment the first request was sent.
 */
export async function runWeftBatch(ctx: BatchTarget, input: { flowId: string; count: number; what: string }): Promise<{ t0: number; ends: number[]; ids: string[] }> {
  const t0 = performance.now();
  const ids = await mapLimit(Array.from({ length: input.count }, (_v, i) => i), START_CONCURRENCY, () => ctx.stack.startExecution(input.flowId, { topic: 'bench' }));
  try {
    const ends = await ctx.observer.waitForEnds(ids, ctx.options.timeoutMs, input.what);
    // Not part of the figures, which end at the last end event: the flusher writes the batch to
    // Postgres after it. The next run, of Weft or of a baseline, starts once it is done, so that
    // no run shares the machine with the one before it.
    await ctx.drained?.();
    return { t0, ends, ids };
  } finally {
    ctx.observer.forget(ids);
  }
}

/** Executions per second of a batch of `count`, from the first request to the last end. */
export async function weftThroughput(ctx: BatchTarget, input: { flowId: string; count: number; what: string }): Promise<number> {
  const { t0, ends } = await runWeftBatch(ctx, input);
  return input.count / ((Math.max(...ends) - t0) / 1000);
}

/** Runs one execution alone and answers its events (as seen on Redis) and its makespan. */
export async function traceOne(ctx: BenchContext, input: { flowId: string; what: string }): Promise<{ marks: SeenEvent[]; makespanMs: number }> {
  const marks: SeenEvent[] = [];
  const off = ctx.observer.listen((e) => { marks.push(e); });
  try {
    const { t0, ends, ids } = await runWeftBatch(ctx, { flowId: input.flowId, count: 1, what: input.what });
    const id = ids[0];
    return { marks: marks.filter((m) => m.executionId === id), makespanMs: (ends[0] ?? Number.NaN) - t0 };
  } finally {
    off();
  }
}
