/**
 * `npm run bench`: Weft against a raw BullMQ baseline, side by side in this one process, on the
 * same Redis. Every system is started first; then each round runs every system in turn (serial
 * chains, then one loaded run), so drift and noise from other processes hit them alike. Prints
 * throughput and latency, server work per node, and ratios. Exits non-zero when a run does not
 * complete in time (every wait is bounded), and always removes the servers, keys, databases and
 * folders it created. Sizes: BENCH_EXECUTIONS, BENCH_NODES, BENCH_CONCURRENCY, BENCH_ROUNDS,
 * BENCH_SERIAL, BENCH_WARMUP, BENCH_MONITOR_EXECUTIONS, BENCH_TIMEOUT_MS, BENCH_DEADLINE_MS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startMockLlm } from '@weft/shared/mock-llm';
import { benchOptions, type BenchOptions } from './options.js';
import { countPgStatements, statementDelta, type StatementCounter, type StatementCounts } from './pg-statements.js';
import { startRawBullMq } from './raw-bullmq.js';
import { redisSnapshot, redisUsage, type RedisUsage } from './redis-counters.js';
import { scriptNames, startMonitor } from './redis-monitor.js';
import { renderRatios, renderReport, type Measurement } from './report.js';
import { acquireServices } from './services.js';
import type { BatchResult, ChainSystem } from './stats.js';
import { startWeft } from './weft-engine.js';

/** One system under test and what is measured of it. */
interface Contender {
  system: ChainSystem;
  measurement: Measurement;
  countRedis: boolean;
  countSql: boolean;
}

interface Probes {
  redis: Redis;
  sql: StatementCounter;
}

function progress(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

function contender(name: string, system: ChainSystem, options: BenchOptions, counts: { redis: boolean; sql: boolean }): Contender {
  return {
    system,
    measurement: { name, nodes: options.nodes, rounds: [], serialMs: [], phases: [] },
    countRedis: counts.redis,
    countSql: counts.sql,
  };
}

function addRedis(total: RedisUsage | undefined, more: RedisUsage): RedisUsage {
  if (!total) return more;
  const byCommand = new Map(total.byCommand);
  for (const [name, n] of more.byCommand) byCommand.set(name, (byCommand.get(name) ?? 0) + n);
  return {
    commands: total.commands + more.commands,
    scriptCalls: total.scriptCalls + more.scriptCalls,
    byCommand,
    netInputBytes: total.netInputBytes + more.netInputBytes,
    netOutputBytes: total.netOutputBytes + more.netOutputBytes,
  };
}

/** Statements of a loaded run, the bench's own (row inserts, polls) taken out. */
function addSql(total: StatementCounts | undefined, delta: StatementCounts, loaded: BatchResult): StatementCounts {
  const sum = new Map(total ?? []);
  for (const [label, n] of delta) sum.set(label, (sum.get(label) ?? 0) + n - (loaded.benchStatements?.get(label) ?? 0));
  for (const [label, n] of sum) if (n <= 0) sum.delete(label);
  return sum;
}

async function serialChains(c: Contender, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const result = await c.system.runBatch(1);
    c.measurement.serialMs.push(...result.latenciesMs);
    if (result.phases) c.measurement.phases.push(result.phases);
  }
}

async function loadedRun(c: Contender, options: BenchOptions, probes: Probes): Promise<void> {
  const redisBefore = c.countRedis ? await redisSnapshot(probes.redis) : null;
  const sqlBefore = probes.sql.snapshot();
  const loaded = await c.system.runBatch(options.executions);
  const redisAfter = c.countRedis ? await redisSnapshot(probes.redis) : null;
  const m = c.measurement;
  m.rounds.push(loaded);
  if (redisBefore && redisAfter) m.redis = addRedis(m.redis, redisUsage(redisBefore, redisAfter));
  if (c.countSql) m.pg = addSql(m.pg, statementDelta(sqlBefore, probes.sql.snapshot()), loaded);
}

async function monitorPass(c: Contender, options: BenchOptions, input: { redisUrl: string; keyMarkers: string[]; names: ReadonlyMap<string, string> }): Promise<void> {
  if (options.monitorExecutions === 0) return;
  progress(`${c.measurement.name}: MONITOR pass, ${options.monitorExecutions} chains`);
  const monitor = await startMonitor(input);
  try {
    await c.system.runBatch(options.monitorExecutions);
  } finally {
    c.measurement.monitor = { counts: await monitor.stop(), nodes: options.monitorExecutions * options.nodes };
  }
}

async function main(): Promise<number> {
  const options = benchOptions(process.env);
  const started = performance.now();
  const services = await acquireServices(process.env);
  progress(`Redis ${services.redisUrl} (${services.privateRedis ? 'private' : `shared, prefix ${services.prefix}`}), ` +
    `Postgres ${new URL(services.databaseUrl).host}${services.privatePostgres ? ' (private)' : `, database ${new URL(services.databaseUrl).pathname.slice(1)}`}`);
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: deadline of ${options.deadlineMs} ms passed; stopping\n`);
    services.destroySync();
    process.exit(2);
  }, options.deadlineMs);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      services.destroySync();
      process.exit(130);
    });
  }
  // Undone in reverse order whatever happens.
  const closers: Array<() => Promise<void>> = [];
  try {
    const mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    closers.push(() => mock.close());
    const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 });
    closers.push(async () => { redis.disconnect(); });
    const sql = countPgStatements();
    closers.push(async () => { sql.restore(); });
    const probes: Probes = { redis, sql };
    const dataDir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
    closers.push(async () => { rmSync(dataDir, { recursive: true, force: true }); });

    progress('starting raw BullMQ, Weft distributed, Weft embedded');
    const raw = await startRawBullMq({ redisUrl: services.redisUrl, prefix: services.prefix, nodes: options.nodes, concurrency: options.concurrency, timeoutMs: options.timeoutMs });
    closers.push(() => raw.close());
    const common = { nodes: options.nodes, concurrency: options.concurrency, timeoutMs: options.timeoutMs, logLevel: options.logLevel, mock };
    const distributed = await startWeft({ ...common, mode: 'distributed', redisUrl: services.redisUrl, databaseUrl: services.databaseUrl, prefix: services.prefix });
    closers.push(() => distributed.close());
    const embedded = await startWeft({ ...common, mode: 'embedded', dataDir });
    closers.push(() => embedded.close());
    // Now, while the sources match what the engine loaded.
    const names = scriptNames();

    const contenders = {
      raw: contender('raw BullMQ (no-op jobs)', raw, options, { redis: true, sql: false }),
      distTransform: contender('weft distributed transform', distributed.system('transform'), options, { redis: true, sql: true }),
      distLlm: contender('weft distributed llm', distributed.system('llm'), options, { redis: true, sql: true }),
      embTransform: contender('weft embedded transform', embedded.system('transform'), options, { redis: false, sql: false }),
      embLlm: contender('weft embedded llm', embedded.system('llm'), options, { redis: false, sql: false }),
      distMap: contender('weft distributed map (items)', distributed.system('map'), options, { redis: true, sql: true }),
      embMap: contender('weft embedded map (items)', embedded.system('map'), options, { redis: false, sql: false }),
    };
    const all = Object.values(contenders);

    for (const c of all) {
      progress(`${c.measurement.name}: warm-up, ${options.warmup} chains`);
      if (options.warmup > 0) await c.system.runBatch(options.warmup);
    }
    const serialPerRound = Math.ceil(options.serial / options.rounds);
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const c of all) {
        progress(`round ${round}/${options.rounds}: ${c.measurement.name}`);
        mock.reset();
        await serialChains(c, Math.min(serialPerRound, options.serial - c.measurement.serialMs.length));
        await loadedRun(c, options, probes);
      }
    }
    await monitorPass(contenders.raw, options, { redisUrl: services.redisUrl, keyMarkers: [`{${raw.prefix}}`], names });
    await monitorPass(contenders.distTransform, options, { redisUrl: services.redisUrl, keyMarkers: [`${services.prefix}:`, `{${services.prefix}}`], names });

    const report = renderReport({
      executions: options.executions, nodes: options.nodes, concurrency: options.concurrency, rounds: options.rounds,
      serial: options.serial, warmup: options.warmup, sharedRedis: !services.privateRedis, totalSeconds: (performance.now() - started) / 1000,
    }, all.map((c) => c.measurement));
    const ratios = renderRatios({
      raw: contenders.raw.measurement,
      distributed: { transform: contenders.distTransform.measurement, llm: contenders.distLlm.measurement, map: contenders.distMap.measurement },
      embedded: { transform: contenders.embTransform.measurement, llm: contenders.embLlm.measurement, map: contenders.embMap.measurement },
    });
    process.stdout.write(`\n${report}\n\n${ratios}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  } finally {
    for (const close of closers.reverse()) {
      await close().catch((err: unknown) => { process.stderr.write(`bench cleanup: ${err instanceof Error ? err.message : String(err)}\n`); });
    }
    await services.cleanup();
    clearTimeout(watchdog);
  }
}

main().then((code) => { process.exit(code); }, (err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
