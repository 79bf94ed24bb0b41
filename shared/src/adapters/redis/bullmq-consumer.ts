/**
 * One BullMQ Worker as the port's JobConsumer: runs the handler with an abort signal, maps its
 * failure through retryDecision (retry with the decided delay, re-delay without spending an
 * attempt, or fail for good), and closes gracefully (running jobs finish) or by force.
 */
import { DelayedError, UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { RedisClient } from './connection.js';
import { retryDecision } from '../../engine/retry-decision.js';
import { toWeftError } from '../../errors/index.js';
import type { JobConsumer, JobHandler, QueueName } from '../../ports/job-queue.js';
import { decodeBackoff, retryWith } from './bullmq-backoff.js';
import type { QueueLogger } from './bullmq-queue.js';

/** Control-flow errors of BullMQ that must reach it untouched. */
const BULLMQ_CONTROL_ERRORS: ReadonlySet<string> = new Set([
  'UnrecoverableError',
  'DelayedError',
  'WaitingError',
  'WaitingChildrenError',
  'RateLimitError',
]);

export interface ConsumerDeps<T> {
  queue: QueueName;
  handler: JobHandler<T>;
  connection: RedisClient;
  log: QueueLogger;
}

export class BullMqConsumer<T> implements JobConsumer {
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

export async function quitConnection(redis: RedisClient): Promise<void> {
  try {
    await redis.quit();
  } catch {
    // Already closed or unreachable: nothing is left to release.
    redis.disconnect();
  }
}

export function noop(): void {
  // Intentionally empty: the default logger and resolver discard.
}
