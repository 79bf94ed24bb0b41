/**
 * Queue rows: transitions/s of 100 chains × 10 transform nodes against a raw BullMQ chain, the
 * unloaded hop, and Redis commands and round trips per node.
 */
import { chainHops } from './chain-phases.js';
import { runWeftBatch, traceOne, type BenchContext } from './context.js';
import { transformChain } from './flows.js';
import { runInterleaved } from './interleave.js';
import { startRawBullMq } from './raw-bullmq.js';
import { redisUsage, settledSnapshot, type RedisUsage } from './redis-counters.js';
import { scriptNames, startMonitor, type MonitorCounts } from './redis-monitor.js';
import { percentile } from './stats.js';

interface LoadedRun {
  transitionsPerSec: number;
  commandsPerNode: number;
  usage: RedisUsage;
}

const QUIET = { quietMs: 250, maxMs: 3000, idleCommands: 10 };

/**
 * Full-size batches each side runs before the measured ones. Both sides start cold, and warm up
 * over about ten batches: in a probe of sixteen 100-chain batches in a row, Weft went from 1.27k
 * to 2.1-3.1k transitions/s and the raw BullMQ chain from 4.3k to 6.5-11k; and in bursts of 300
 * starts, the api spent 2.2 ms of CPU per start on the first and 0.57 ms on the sixth. Twenty
 * executions, the warm-up before, left every measured run partly cold, which a long-running
 * deployment never is.
 */
const WARM_UP_BATCHES = 10;

function topCommands(usage: RedisUsage): Record<string, number> {
  return Object.fromEntries([...usage.byCommand].sort((a, b) => b[1] - a[1]).slice(0, 20));
}

function monitorSummary(counts: MonitorCounts, nodes: number): Record<string, unknown> {
  const byLabel = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / nodes]));
  return { roundTripsPerNode: counts.roundTrips / nodes, inScriptPerNode: counts.inScript / nodes, clientPerNode: byLabel(counts.clientByLabel), scriptPerNode: byLabel(counts.scriptByLabel) };
}

/** Counts the commands of `work` on keys with one of `keyMarkers`, its trailing work included. */
async function monitored(ctx: BenchContext, keyMarkers: string[], work: () => Promise<void>): Promise<MonitorCounts> {
  const monitor = await startMonitor({ redisUrl: ctx.services.redisUrl, keyMarkers, names: scriptNames() });
  try {
    await work();
    await settledSnapshot(ctx.redis, QUIET);
  } catch (err) {
    await monitor.stop().catch(() => undefined);
    throw err;
  }
  return monitor.stop();
}

export async function chainRows(ctx: BenchContext): Promise<void> {
  const { options, stack, services, redis } = ctx;
  const nodes = options.chainNodes;
  const flowId = await stack.createFlow(transformChain(nodes));
  const raw = await startRawBullMq({ redisUrl: services.redisUrl, prefix: services.prefix, nodes, concurrency: options.concurrency * options.workers, timeoutMs: options.timeoutMs });
  try {
    ctx.progress('chains: warm-up');
    for (let i = 0; i < WARM_UP_BATCHES; i += 1) {
      await runWeftBatch(ctx, { flowId, count: options.chains, what: 'weft warm-up' });
      await raw.runBatch(options.chains);
    }

    const transitions = (n: number, ms: number): number => (n * nodes) / (ms / 1000);
    const [weft = [], base = []] = await runInterleaved<LoadedRun>({
      reps: options.reps,
      onRun: (name, rep) => { ctx.progress(`transitions ${rep + 1}/${options.reps}: ${name}`); },
      contenders: [
        {
          name: 'weft',
          run: async () => {
            const before = await settledSnapshot(redis, QUIET);
            const { t0, ends } = await runWeftBatch(ctx, { flowId, count: options.chains, what: 'weft transform chains' });
            const usage = redisUsage(before, await settledSnapshot(redis, QUIET));
            return { transitionsPerSec: transitions(options.chains, Math.max(...ends) - t0), commandsPerNode: usage.commands / (options.chains * nodes), usage };
          },
        },
        {
          name: 'raw BullMQ',
          run: async () => {
            const before = await settledSnapshot(redis, QUIET);
            const batch = await raw.runBatch(options.chains);
            const usage = redisUsage(before, await settledSnapshot(redis, QUIET));
            return { transitionsPerSec: transitions(options.chains, batch.wallMs), commandsPerNode: usage.commands / (options.chains * nodes), usage };
          },
        },
      ],
    });
    ctx.rows.push({
      metric: `transitions/s, ${options.chains} chains × ${nodes} transform nodes at once (started through the api)`,
      unit: 'per_s', baselineName: 'raw BullMQ chain, each job adds the next',
      weft: weft.map((r) => r.transitionsPerSec), baseline: base.map((r) => r.transitionsPerSec),
      target: { on: 'ratio', op: '>=', value: 0.6 },
    });
    ctx.rows.push({
      metric: 'Redis commands per node (INFO commandstats, in-script included)',
      unit: 'count', baselineName: 'raw BullMQ chain',
      weft: weft.map((r) => r.commandsPerNode), baseline: base.map((r) => r.commandsPerNode),
      target: { on: 'ratio', op: '<=', value: 1.2 },
    });
    ctx.details.commandsByName = { weft: weft.map((r) => topCommands(r.usage)), rawBullMq: base.map((r) => topCommands(r.usage)) };

    const hopReps = await runInterleaved<number[]>({
      reps: options.reps,
      onRun: (name, rep) => { ctx.progress(`hop ${rep + 1}/${options.reps}: ${name}`); },
      contenders: [
        {
          name: 'weft',
          run: async () => {
            const hops: number[] = [];
            for (let i = 0; i < options.hopChains; i += 1) {
              const { marks } = await traceOne(ctx, { flowId, what: 'weft serial chain' });
              hops.push(...chainHops(marks, nodes));
            }
            return hops;
          },
        },
        {
          name: 'raw BullMQ',
          run: async () => {
            const hops: number[] = [];
            for (let i = 0; i < options.hopChains; i += 1) hops.push(...(await raw.runBatch(1)).hopsMs);
            return hops;
          },
        },
      ],
    });
    const [weftHops = [], rawHops = []] = hopReps;
    for (const p of [50, 99]) {
      ctx.rows.push({
        metric: `one-chain hop p${p}, node n-1 completed → node n started (${options.hopChains} chains of ${nodes} per rep)`,
        unit: 'ms', baselineName: 'raw BullMQ add → start',
        weft: weftHops.map((h) => percentile(h, p)), baseline: rawHops.map((h) => percentile(h, p)),
        ...(p === 50 ? { target: { on: 'ratio' as const, op: '<=' as const, value: 1.5 } } : {}),
      });
    }
    ctx.details.hopsMs = { weft: weftHops, rawBullMq: rawHops };

    // MONITOR slows Redis down: apart from the timed runs, a few chains at once.
    const monitorReps = await runInterleaved<MonitorCounts>({
      reps: options.reps,
      onRun: (name, rep) => { ctx.progress(`MONITOR ${rep + 1}/${options.reps}: ${name}`); },
      contenders: [
        {
          name: 'weft',
          run: () => monitored(ctx, [`${services.prefix}:`, `{${services.prefix}}`], async () => {
            await runWeftBatch(ctx, { flowId, count: options.monitorChains, what: 'weft chains under MONITOR' });
          }),
        },
        {
          name: 'raw BullMQ',
          run: () => monitored(ctx, [`{${raw.prefix}}`], async () => {
            await raw.runBatch(options.monitorChains);
          }),
        },
      ],
    });
    const monitoredNodes = options.monitorChains * nodes;
    const [weftMon = [], rawMon = []] = monitorReps;
    ctx.rows.push({
      metric: 'Redis round trips per node (MONITOR; a MULTI counted once, pipelines not seen)',
      unit: 'count', baselineName: 'raw BullMQ chain',
      weft: weftMon.map((c) => c.roundTrips / monitoredNodes), baseline: rawMon.map((c) => c.roundTrips / monitoredNodes),
      target: { on: 'weft', op: '<=', value: 3.5 },
    });
    ctx.details.monitor = { weft: weftMon.map((c) => monitorSummary(c, monitoredNodes)), rawBullMq: rawMon.map((c) => monitorSummary(c, monitoredNodes)) };
  } finally {
    await raw.close();
  }
}
