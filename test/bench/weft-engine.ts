/**
 * The real Weft engine in this process: createProcessResources + startWorkerRuntime, as the worker's
 * main.ts wires them, without the api. Executions are inserted through the repos and enqueued
 * with executionJob(), as the api's start route does; an execution's end is the
 * execution.completed event seen on the event bus.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig, type WeftConfig } from '@weft/shared/config';
import { executionJob } from '@weft/shared/jobs';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import type { MockLlm } from '@weft/shared/mock-llm';
import type { Unsubscribe } from '@weft/shared/ports';
import { createDatabase } from '@weft/db/database';
import { createProcessResources, type ProcessResources } from '@weft/shared/infrastructure';
import { createProvider, startWorkerRuntime, type WorkerRuntime } from '@weft/worker';
import { BENCH_MODEL, chainFlow, type ChainKind } from './flows.js';
import { chainPhases } from './chain-phases.js';
import { CompletionTracker, runTrackedBatch } from './completion-tracker.js';
import type { BatchResult, ChainSystem } from './stats.js';
import { pollUntil } from './waits.js';

export type WeftMode = 'distributed' | 'embedded';

export interface WeftEngine {
  config: WeftConfig;
  infra: ProcessResources;
  system(kind: ChainKind): ChainSystem;
  close(): Promise<void>;
}

export interface StartWeftInput {
  mode: WeftMode;
  /** Distributed mode: the servers and the key prefix. */
  redisUrl?: string;
  databaseUrl?: string;
  prefix?: string;
  /** Embedded mode: where PGlite keeps its data. */
  dataDir?: string;
  nodes: number;
  concurrency: number;
  timeoutMs: number;
  logLevel: string;
  mock: MockLlm;
}

/** The environment a deployment would set, built here and parsed by the real loadConfig. */
function benchEnv(input: StartWeftInput): Record<string, string> {
  const common = {
    WEFT_MASTER_KEY: randomBytes(32).toString('base64'),
    WORKER_CONCURRENCY: String(input.concurrency),
    WORKER_ID: `bench-${input.mode}`,
    LOG_LEVEL: input.logLevel,
    SHUTDOWN_GRACE_MS: '5000',
  };
  if (input.mode === 'embedded') return { ...common, WEFT_DATA_DIR: input.dataDir ?? '' };
  return { ...common, REDIS_URL: input.redisUrl ?? '', DATABASE_URL: input.databaseUrl ?? '', WEFT_REDIS_PREFIX: input.prefix ?? '' };
}

export async function startWeft(input: StartWeftInput): Promise<WeftEngine> {
  const config = loadConfig(benchEnv(input), input.mode === 'embedded' ? 'all' : 'worker');
  if (config.mode !== input.mode) throw new Error(`loadConfig chose ${config.mode} mode, expected ${input.mode}`);
  // Logs go to stderr: stdout carries the report.
  const logger = createLogger({ level: config.logLevel, name: `weft-bench-${input.mode}`, destination: process.stderr });
  const metrics = createMetrics({ defaultLabels: { component: 'bench' } });
  const infra = await createProcessResources({ config, logger, metrics, createDatabase });
  let runtime: WorkerRuntime | null = null;
  let unsubscribe: Unsubscribe | null = null;
  const close = async (): Promise<void> => {
    if (unsubscribe) await unsubscribe();
    if (runtime) await runtime.close({ graceMs: 5000 });
    await infra.close();
  };
  try {
    // Embedded mode migrates inside createProcessResources; distributed processes migrate at start.
    if (config.mode === 'distributed') await infra.database.migrate();
    const repos = infra.database.repos;
    const { workspace } = await repos.workspaces.create({ name: `bench-${input.mode}` });
    await repos.credentials.put({ workspaceId: workspace.id, provider: 'openai', apiKey: 'sk-bench-0123456789', baseUrl: `${input.mock.url}/v1` });
    // A priced model, as in production: the cost computation is part of an LLM node's work.
    await repos.pricing.upsert({ provider: 'openai', model: BENCH_MODEL, inputPer1M: 0.15, outputPer1M: 0.6, reasoningPer1M: 0.6, cachedPer1M: 0.075 });

    const tracker = new CompletionTracker();
    const traces = new Map<string, Array<{ type: string; nodeId: string; at: number }>>();
    unsubscribe = await infra.events.subscribe((event) => {
      traces.get(event.executionId)?.push({ type: event.type, nodeId: event.nodeId ?? '', at: performance.now() });
      if (event.type === 'execution.completed') tracker.done(event.executionId);
      else if (event.type === 'execution.failed' || event.type === 'execution.cancelled') tracker.fail(event.executionId, JSON.stringify(event.data));
    });
    runtime = startWorkerRuntime({ ...infra, config, logger, metrics, createProvider });

    const systems = new Map<ChainKind, ChainSystem>();
    for (const kind of ['transform', 'llm', 'map'] as const) {
      const flow = await repos.flows.create({ workspaceId: workspace.id, flow: chainFlow(kind, input.nodes) });
      systems.set(kind, {
        async runBatch(count: number): Promise<BatchResult> {
          // The api's part (insert the row, commit) is not timed: the clock starts at the enqueue.
          const rows = await Promise.all(Array.from({ length: count }, () =>
            repos.executions.create({ workspaceId: workspace.id, flowId: flow.id, flowVersion: flow.version, input: { topic: 'bench' } })));
          const ids = rows.map((r) => r.execution.id);
          // A single chain is traced through its events: where does an unloaded chain spend its time?
          const traced = count === 1 ? ids[0] : undefined;
          if (traced) traces.set(traced, []);
          try {
            const { t0, latenciesMs, wallMs } = await runTrackedBatch({
              tracker,
              ids,
              timeoutMs: input.timeoutMs,
              what: `weft ${input.mode} ${kind} batch`,
              enqueue: () => infra.queue.addBulk(ids.map((executionId) => executionJob({ executionId, workspaceId: workspace.id }))),
            });
            // The batch's rows are the flow's newest: final once every one of them is completed.
            let probes = 0;
            await pollUntil(async () => {
              probes += 1;
              const page = await repos.executions.list({ workspaceId: workspace.id, flowId: flow.id, limit: count });
              return page.items.length === count && page.items.every((row) => row.status === 'completed');
            }, { timeoutMs: input.timeoutMs, intervalMs: 20, what: `weft ${input.mode} ${kind}: final rows in Postgres` });
            const result: BatchResult = {
              wallMs, latenciesMs, durableMs: performance.now() - t0,
              benchStatements: new Map([['insert executions', count], ['insert executions rows', count], ['select executions', probes]]),
            };
            const marks = traced ? traces.get(traced) : undefined;
            if (marks) result.phases = chainPhases(marks, t0, input.nodes);
            return result;
          } finally {
            if (traced) traces.delete(traced);
          }
        },
      });
    }
    return {
      config,
      infra,
      system(kind) {
        const system = systems.get(kind);
        if (!system) throw new Error(`no ${kind} flow`);
        return system;
      },
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
