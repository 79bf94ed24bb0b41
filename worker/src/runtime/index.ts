/** The worker's moving parts: the two queue consumers, the flusher and the queue-depth gauge. */
import { ALL_QUEUES, QUEUES } from '@weft/shared/ports';
import type { WorkerDeps } from '../deps.js';
export type { CoreDeps, WorkerDeps } from '../deps.js';
import { FlowCache } from '../flow-cache.js';
import { Flusher } from '../flush/flusher.js';
import { createRateLimiter } from '../infrastructure/index.js';
import { createNodeRunner } from '../nodes/index.js';
import { createExecutionProcessor } from '../processors/execution.processor.js';
import { createNodeProcessor } from '../processors/node.processor.js';
import { createResumeProcessor } from '../processors/wait.js';
import { startRecoverySweep } from '../recovery/index.js';
import { ProviderGuard } from '../providers/guard/index.js';
import type { ControlBus, RateLimiter } from '@weft/shared/ports';
import { WeftError } from '@weft/shared/errors';
import { RunningJobs } from '../control/running-jobs.js';

export interface WorkerRuntime {
  /** Stops taking jobs, lets running ones finish up to `graceMs`, then aborts them. */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** `rateLimiter`: the provider rate limiter, owned by the caller; by default one is built from the config and closed here. */
export function startWorkerRuntime(deps: WorkerDeps & { rateLimiter?: RateLimiter; control?: ControlBus }): WorkerRuntime {
  const { config, logger, metrics } = deps;
  const repos = deps.database.repos;
  const flows = new FlowCache(repos.flows);
  const rateLimiter = deps.rateLimiter ?? createRateLimiter(config, logger);
  const guard = new ProviderGuard({ breaker: config.breaker, rateLimits: config.providerRateLimits, limiter: rateLimiter, logger, metrics });
  const runNode = createNodeRunner({
    repos, metrics, createProvider: deps.createProvider, guard,
    ...(config.allowEnvKeys ? { envKeys: config.envProviderKeys } : {}),
  });
  const log = logger.child({ workerId: config.workerId });
  const running = new RunningJobs();
  // A cancel from the api aborts this worker's calls for that execution within moments.
  const unsubscribeControl = deps.control?.subscribe((message) => {
    const reason = message.nodeIds ? 'their map timed out' : 'the execution was cancelled';
    const aborted = running.abort(message.executionId, new WeftError('NODE_CANCELLED', reason), message.nodeIds);
    if (aborted > 0) log.info({ executionId: message.executionId, aborted, nodeIds: message.nodeIds }, 'cancel: running nodes aborted');
  });

  const executions = deps.queue.process(
    QUEUES.executions,
    createExecutionProcessor({ repos, state: deps.state, queue: deps.queue, flows, logger: log, metrics, clock: deps.clock }),
    { concurrency: Math.max(5, Math.ceil(config.workerConcurrency / 2)) },
  );
  const nodes = deps.queue.process(
    QUEUES.nodes,
    createNodeProcessor({ state: deps.state, flushLog: deps.flushLog, spendLedger: deps.spendLedger, queue: deps.queue, events: deps.events, flows, runNode, logger: log, metrics, clock: deps.clock, workerId: config.workerId, running }),
    { concurrency: config.workerConcurrency },
  );
  const resumes = deps.queue.process(
    QUEUES.resume,
    createResumeProcessor({ state: deps.state, flushLog: deps.flushLog, queue: deps.queue, flows, logger: log, metrics, clock: deps.clock, workerId: config.workerId, ...(deps.control ? { control: deps.control } : {}) }),
    { concurrency: Math.max(5, Math.ceil(config.workerConcurrency / 2)) },
  );
  const flusher = new Flusher({
    state: deps.state,
    flushLog: deps.flushLog,
    repos,
    flows,
    logger: log,
    metrics,
    consumer: config.workerId,
    hotStateTtlSeconds: config.hotStateTtlSeconds,
  });
  flusher.start();
  const sweep = startRecoverySweep({
    repos, state: deps.state, flushLog: deps.flushLog, queue: deps.queue, events: deps.events, flows, logger: log, metrics, clock: deps.clock,
    intervalMs: config.sweepIntervalMs, minAgeMs: config.sweepMinAgeMs,
  });

  const depthTimer = setInterval(() => {
    void (async () => {
      for (const queue of ALL_QUEUES) {
        const counts = await deps.queue.counts(queue);
        for (const [state, value] of Object.entries(counts) as Array<[string, number]>) metrics.queueJobs.set({ queue, state }, value);
      }
    })().catch((err: unknown) => { log.debug({ err }, 'queue depth poll failed'); });
  }, 5000);
  depthTimer.unref();
  log.info({ concurrency: config.workerConcurrency }, 'worker started');

  return {
    async close(options = {}) {
      clearInterval(depthTimer);
      sweep.stop();
      await (await unsubscribeControl)?.();
      const graceMs = options.graceMs ?? config.shutdownGraceMs;
      const graceful = Promise.all([executions.close(), nodes.close(), resumes.close()]);
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => { resolve(true); }, graceMs).unref()),
      ]);
      if (timedOut) {
        // Unfinished jobs are not lost: their locks lapse and another worker redelivers them.
        log.warn({ graceMs }, 'grace period over: aborting running jobs');
        await Promise.all([executions.close({ force: true }), nodes.close({ force: true }), resumes.close({ force: true })]);
      }
      await flusher.stop();
      guard.close();
      if (!deps.rateLimiter) await rateLimiter.close();
      log.info('worker stopped');
    },
  };
}
