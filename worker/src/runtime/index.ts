/**
 * The worker's moving parts: the engine's three queue consumers (running nodes with this
 * worker's executors), the schedules' ticks, the flusher, the recovery sweep and the queue-depth gauge.
 */
import { WeftError } from '@weft/shared/errors';
import { ALL_QUEUES, JobSlots, QUEUES, nodeQueueFor, type QueueName, type RateLimiter } from '@weft/shared/ports';
import { NODE_TYPES } from '@weft/shared/flow';
import { createRateLimiter } from '@weft/shared/infrastructure';
import { ExpressionPool } from '@weft/shared/expressions';
import { RunningJobs, createScheduleTickProcessor } from '@weft/shared/run-engine';
import type { WorkerDeps } from '../deps.js';
export type { CoreDeps, WorkerDeps } from '../deps.js';
import { CodeSandbox } from '../code-sandbox/index.js';
import { Flusher } from '../flush/flusher.js';
import { createNodeRunner } from '../nodes/index.js';
import { deploymentSecrets } from '../nodes/redact-secrets.js';
import { ProviderGuard } from '../providers/guard/index.js';
import { ProviderClients } from '../providers/provider-clients.js';
import { ProviderEgress } from '../providers/provider-egress.js';
import { createNodeSources } from '../sources/index.js';

export interface WorkerRuntime {
  /** Stops taking jobs, lets running ones finish up to `graceMs`, then aborts them. */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** `rateLimiter`: the provider rate limiter, owned by the caller; by default one is built from the config and closed here. */
export function startWorkerRuntime(deps: WorkerDeps & { rateLimiter?: RateLimiter }): WorkerRuntime {
  const { config, logger, metrics, engine } = deps;
  const repos = deps.database.repos;
  const rateLimiter = deps.rateLimiter ?? createRateLimiter(config, logger);
  const guard = new ProviderGuard({ breaker: config.breaker, rateLimits: config.providerRateLimits, limiter: rateLimiter, logger, metrics });
  // Every provider call goes through the workspace's egress policy and the output caps.
  const providerEgress = new ProviderEgress({ maxOutputBytes: config.llmMaxOutputBytes, createAdapter: deps.createProvider });
  // Every JSONata evaluation of this worker (transform, condition, switch, map items) runs here, bounded.
  const expressions = new ExpressionPool({ limits: config.expressions, logger, metrics });
  // Every code node of this worker runs here, in QuickJS sandboxes on their own threads.
  const code = new CodeSandbox({ config: config.code, logger, metrics });
  const log = logger.child({ workerId: config.workerId });
  const sources = createNodeSources({ repos, settingsTtlMs: config.providerClientCacheTtlMs, settingsCacheSize: config.providerClientCacheSize });
  // One client per (workspace, provider), kept with its credential and policy: a warm LLM call reads nothing.
  const clients = new ProviderClients({
    credentials: sources.credentials, egress: sources.egress, createProvider: providerEgress.create,
    envKeys: config.allowEnvKeys ? config.envProviderKeys : undefined,
    ttlMs: config.providerClientCacheTtlMs, max: config.providerClientCacheSize,
    metrics, logger: log.child({ component: 'provider-clients' }),
  });
  const runNode = createNodeRunner({
    expressions,
    code,
    codeLimits: config.code,
    ...sources, clients, metrics, guard,
    llmLimits: { maxOutputBytes: config.llmMaxOutputBytes, defaultMaxTokens: config.llmDefaultMaxTokens },
    httpMaxResponseBytes: config.httpMaxResponseBytes,
    deploymentSecrets: deploymentSecrets(config),
    nodeErrorMaxChars: config.nodeErrorMaxChars,
  });
  const running = new RunningJobs();
  const unsubscribeControl = deps.control?.subscribe((message) => {
    switch (message.type) {
      case 'cancel': {
        // A cancel from the api aborts this worker's calls for that execution within moments; with
        // nodeIds, those nodes only (the items of a timed-out map, or the nodes a fail-fast cut).
        const reason = message.nodeIds ? 'their map timed out, or their execution failed' : 'the execution was cancelled';
        const aborted = running.abort(message.executionId, new WeftError('NODE_CANCELLED', reason), message.nodeIds);
        if (aborted > 0) log.info({ executionId: message.executionId, aborted, nodeIds: message.nodeIds }, 'cancel: running nodes aborted');
        return;
      }
      case 'provider-clients-invalidated': {
        // A credential, an egress setting, a fallback price or a workspace changed: the next call
        // reads it afresh.
        sources.forgetWorkspace(message.workspaceId);
        const dropped = clients.invalidate(message);
        metrics.providerClientInvalidationsTotal.inc({ reason: message.reason });
        log.info({ reason: message.reason, workspaceId: message.workspaceId, provider: message.provider, dropped }, 'provider clients invalidated');
        return;
      }
      case 'api-keys-revoked':
        return;
    }
  });

  // The pool: only its types' node queues are consumed, and only its types run eagerly.
  const poolTypes = new Set(config.workerNodeTypes);
  // One budget for the whole pool: WORKER_CONCURRENCY node jobs at once, whichever queues they
  // come from, and the children eager dispatch runs side by side in them.
  const slots = new JobSlots(config.workerConcurrency);
  const eagerDispatch = { enabled: config.eagerDispatch, nodeTypes: poolTypes, slots };
  const processors = engine.processors({ runNode, expressions, workerId: config.workerId, running, logger: log, eagerDispatch });
  // An execution job may run its first root at once (holding a node slot of the budget while it
  // does): room for those beside the ones that only start executions.
  const executions = deps.queue.process(QUEUES.executions, processors.executions, { concurrency: config.workerConcurrency + Math.max(5, Math.ceil(config.workerConcurrency / 2)) });
  const poolQueues: QueueName[] = config.workerNodeTypes.map(nodeQueueFor);
  // A worker of every type also drains `weft-nodes`, where node jobs waited before they had a queue per type.
  const nodeQueues: QueueName[] = poolTypes.size === NODE_TYPES.length ? [...poolQueues, QUEUES.nodes] : poolQueues;
  const nodes = nodeQueues.map((queue) => deps.queue.process(queue, processors.nodes, { concurrency: config.workerConcurrency, slots }));
  const resumes = deps.queue.process(QUEUES.resume, processors.resume, { concurrency: Math.max(5, Math.ceil(config.workerConcurrency / 2)) });
  // Schedules' ticks: each tick time is one job fleet-wide (a job scheduler), taken by one worker.
  const ticks = deps.queue.process(QUEUES.schedules, createScheduleTickProcessor({ engine, repos, queue: deps.queue, logger: log.child({ component: 'schedules' }), metrics }), { concurrency: 5 });
  // One flusher loop per partition of the flush log (per queue shard in Redis): every worker
  // reads every shard's stream, each loop blocking on a connection of its own.
  const flushLogs = engine.resources.flushLog.partitions?.() ?? [engine.resources.flushLog];
  const flushers = flushLogs.map((flushLog, shard) => new Flusher({
    state: deps.state,
    admission: engine.resources.admission,
    flushLog,
    repos,
    flows: engine.resources.flows,
    logger: flushLogs.length > 1 ? log.child({ flushShard: shard }) : log,
    metrics,
    consumer: config.workerId,
    hotStateTtlSeconds: config.hotStateTtlSeconds,
    lingerMs: config.flushLingerMs,
  }));
  for (const flusher of flushers) flusher.start();
  const sweep = engine.startRecovery({ intervalMs: config.sweepIntervalMs, minAgeMs: config.sweepMinAgeMs, logger: log });

  const depthTimer = setInterval(() => {
    void (async () => {
      const pool = new Map<string, number>();
      for (const queue of ALL_QUEUES) {
        const counts = await deps.queue.counts(queue);
        for (const [state, value] of Object.entries(counts) as Array<[string, number]>) metrics.queueJobs.set({ queue, state }, value);
        if (poolQueues.includes(queue)) for (const [state, value] of Object.entries(counts) as Array<[string, number]>) pool.set(state, (pool.get(state) ?? 0) + value);
      }
      for (const [state, value] of pool) metrics.poolQueueJobs.set({ pool: config.workerPool, state }, value);
      // External tasks wait in Postgres, not in a BullMQ queue: a handler nobody serves shows here.
      const tasks = await repos.tasks.depth();
      for (const [state, value] of Object.entries(tasks)) metrics.taskQueueDepth.set({ state }, value);
    })().catch((err: unknown) => { log.debug({ err }, 'queue depth poll failed'); });
  }, 5000);
  depthTimer.unref();
  // Lapsed task leases go through their node's retry policy: every worker sweeps, the fenced writes keep it once.
  let sweeping = false;
  const leaseTimer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    engine.tasks.sweepLapsed()
      .catch((err: unknown) => { log.warn({ err }, 'task lease sweep failed: will retry'); })
      .finally(() => { sweeping = false; });
  }, config.taskLeaseSweepIntervalMs);
  leaseTimer.unref();
  log.info({ concurrency: config.workerConcurrency, pool: config.workerPool, nodeTypes: config.workerNodeTypes }, 'worker started');

  return {
    async close(options = {}) {
      clearInterval(depthTimer);
      clearInterval(leaseTimer);
      sweep.stop();
      // A draining worker starts no chain of its own: ready children go to the queue, where the
      // rest of the fleet takes them.
      eagerDispatch.enabled = false;
      await (await unsubscribeControl)?.();
      const graceMs = options.graceMs ?? config.shutdownGraceMs;
      const consumers = [executions, ...nodes, resumes, ticks];
      const graceful = Promise.all(consumers.map((c) => c.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => { resolve(true); }, graceMs).unref()),
      ]);
      if (timedOut) {
        // Unfinished jobs are not lost: their locks lapse and another worker redelivers them.
        log.warn({ graceMs }, 'grace period over: aborting running jobs');
        await Promise.all(consumers.map((c) => c.close({ force: true })));
      }
      await Promise.all(flushers.map((flusher) => flusher.stop()));
      guard.close();
      await providerEgress.close();
      await expressions.close();
      await code.close();
      if (!deps.rateLimiter) await rateLimiter.close();
      log.info('worker stopped');
    },
  };
}
