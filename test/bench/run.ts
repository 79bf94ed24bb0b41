/**
 * `npm run bench [-- --quick]`: Weft as deployed (its api and worker processes on a private
 * Redis and Postgres, driven through the REST api from this process) against the baselines it
 * is measured by, each pair interleaved. Writes `<out>/latest.{json,md}` (and a timestamped
 * copy) and prints the markdown table. Every wait is bounded; at the deadline or on a signal it
 * prints what it has measured so far and removes every process, server and folder it started.
 * `REDIS_URL`/`DATABASE_URL` are ignored unless `BENCH_USE_ENV_SERVICES=1`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { flushStreamKey } from '@weft/shared/adapters/redis';
import { freePort, waitForPort } from '../helpers/private-services.js';
import type { BenchContext } from './context.js';
import { describeEnvironment, type BenchEnvironment } from './environment.js';
import { startEventObserver } from './event-observer.js';
import { benchOptions, type BenchOptions, type RowGroup } from './options.js';
import { killAllSync, startBenchProcess, type BenchProcess } from './processes.js';
import { renderTable, summarizeRow, type Row } from './report.js';
import { chainRows } from './rows-chains.js';
import { embeddedRows } from './rows-embedded.js';
import { fanInRows } from './rows-fan-in.js';
import { heapRows } from './rows-heap.js';
import { llmRows } from './rows-llm.js';
import { relayRows } from './rows-relay.js';
import { startPathRows } from './rows-start.js';
import { acquireServices, type BenchServices } from './services.js';
import { drainWaiter } from './waits.js';
import { startWeftStack } from './weft-stack.js';

function progress(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

type Status = 'complete' | 'failed' | 'deadline' | 'aborted';

interface Outcome {
  options: BenchOptions;
  startedAt: Date;
  environment: BenchEnvironment | null;
  rows: Row[];
  details: Record<string, unknown>;
  errors: Record<string, string>;
}

/** Synchronous, so the deadline and signal handlers can write what was measured. */
function emit(outcome: Outcome, status: Status): void {
  const { options, environment } = outcome;
  const seconds = (Date.now() - outcome.startedAt.getTime()) / 1000;
  const machine = environment
    ? `${environment.cpuCount} × ${environment.cpuModel}, load ${environment.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at end; Node ${environment.node}; Redis ${environment.redisVersion ?? '?'}; ${environment.postgresVersion?.split(' on ')[0] ?? 'Postgres ?'}`
    : 'unknown';
  const markdown = [
    `Weft bench (${options.quick ? '--quick' : 'full'}), ${outcome.startedAt.toISOString()}, ${status} in ${seconds.toFixed(0)} s, ` +
      `commit ${environment?.gitSha?.slice(0, 12) ?? '?'}${environment?.gitDirty ? ' (uncommitted changes)' : ''}, ${options.workers} worker process(es), ${options.reps} reps`,
    `Machine: ${machine}`,
    '',
    renderTable(outcome.rows),
    ...Object.entries(outcome.errors).map(([group, message]) => `\n**${group} not measured:** ${message.split('\n')[0] ?? ''}`),
  ].join('\n');
  const json = {
    status, seconds, startedAt: outcome.startedAt.toISOString(), options: { ...options, only: [...options.only] }, environment, loadAverageAtEnd: loadavg(),
    rows: outcome.rows.map((row) => ({ ...row, summary: summarizeRow(row) })), details: outcome.details, errors: outcome.errors,
  };
  try {
    mkdirSync(options.outDir, { recursive: true });
    const stamp = outcome.startedAt.toISOString().replaceAll(':', '-').slice(0, 19);
    const base = `bench-${options.quick ? 'quick' : 'full'}-${stamp}`;
    const text = `${JSON.stringify(json, null, 2)}\n`;
    for (const name of [`${base}.json`, 'latest.json']) writeFileSync(join(options.outDir, name), text);
    for (const name of [`${base}.md`, 'latest.md']) writeFileSync(join(options.outDir, name), `${markdown}\n`);
  } catch (err) {
    progress(`could not write ${options.outDir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.stdout.write(`\n${markdown}\n`);
}

const GROUPS: ReadonlyArray<{ group: RowGroup; phase: 'queue' | 'llm' | 'api'; run: (ctx: BenchContext) => Promise<void> }> = [
  { group: 'chains', phase: 'queue', run: chainRows },
  { group: 'fan-in', phase: 'queue', run: fanInRows },
  { group: 'relay', phase: 'queue', run: relayRows },
  { group: 'llm', phase: 'llm', run: llmRows },
  { group: 'heap', phase: 'llm', run: heapRows },
  { group: 'start', phase: 'api', run: startPathRows },
  { group: 'embedded', phase: 'api', run: embeddedRows },
];

async function main(): Promise<number> {
  const options = benchOptions(process.argv.slice(2));
  const outcome: Outcome = { options, startedAt: new Date(), environment: null, rows: [], details: {}, errors: {} };
  let services: BenchServices | null = null;
  const abort = (status: Status, code: number) => (): void => {
    progress(status === 'deadline' ? `deadline of ${options.deadlineMs} ms passed; stopping` : 'interrupted; stopping');
    emit(outcome, status);
    killAllSync();
    services?.destroySync();
    process.exit(code);
  };
  const watchdog = setTimeout(abort('deadline', 2), options.deadlineMs);
  watchdog.unref();
  process.once('SIGINT', abort('aborted', 130));
  process.once('SIGTERM', abort('aborted', 143));
  process.once('exit', killAllSync);

  const closers: Array<() => Promise<void>> = [];
  try {
    services = await acquireServices(process.env.BENCH_USE_ENV_SERVICES === '1' ? process.env : {});
    const svc = services;
    progress(`Redis ${svc.redisUrl}, Postgres ${new URL(svc.databaseUrl).host} (${svc.privateRedis && svc.privatePostgres ? 'private' : 'from the environment'})`);
    const redis = new Redis(svc.redisUrl, { maxRetriesPerRequest: 1 });
    closers.push(async () => { redis.disconnect(); });
    outcome.environment = await describeEnvironment({ redis, databaseUrl: svc.databaseUrl });

    const mockPort = await freePort();
    const mock: BenchProcess = startBenchProcess({ kind: 'mock-llm', name: 'mock LLM', env: { MOCK_LLM_PORT: String(mockPort), HOST: '127.0.0.1' } });
    closers.push(() => mock.stop());
    await waitForPort(mockPort, 60_000);
    const mockUrl = `http://127.0.0.1:${mockPort}`;

    const observer = await startEventObserver(svc.redisUrl, svc.prefix);
    closers.push(async () => { observer.close(); });
    progress('starting the api');
    const stack = await startWeftStack({ redisUrl: svc.redisUrl, databaseUrl: svc.databaseUrl, prefix: svc.prefix, mockUrl, logLevel: options.logLevel });
    closers.push(() => stack.stop());
    // How long Postgres was behind at the end of each batch (from its last end event to an empty flush log).
    const flushLagMs: number[] = [];
    outcome.details.flushLagAfterBatchMs = flushLagMs;
    const drained = drainWaiter(async () => (await redis.xlen(flushStreamKey(svc.prefix))) === 0, { timeoutMs: options.timeoutMs, what: 'flush log drained', lagsMs: flushLagMs });
    const ctx: BenchContext = { options, services: svc, stack, observer, redis, mockUrl, rows: outcome.rows, details: outcome.details, progress, drained };

    let phase: string | null = null;
    for (const { group, phase: wanted, run } of GROUPS) {
      if (!options.only.has(group)) continue;
      if (phase !== wanted) {
        phase = wanted;
        const settings = wanted === 'queue'
          ? { count: options.workers, concurrency: options.concurrency, heapProbe: false }
          : wanted === 'llm' ? { count: options.workers, concurrency: options.llmConcurrency, heapProbe: true } : { count: 0, concurrency: 1, heapProbe: false };
        progress(`workers: ${settings.count} × concurrency ${settings.concurrency}${settings.heapProbe ? ', --expose-gc' : ''}`);
        await stack.setWorkers(settings);
      }
      const t0 = performance.now();
      try {
        await run(ctx);
        progress(`${group}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        outcome.errors[group] = err instanceof Error ? (err.stack ?? err.message) : String(err);
        progress(`${group} failed: ${outcome.errors[group]}`);
        for (const w of stack.workers) progress(`--- ${w.name} output (tail) ---\n${w.output().slice(-3000)}`);
      }
    }
    emit(outcome, Object.keys(outcome.errors).length === 0 ? 'complete' : 'failed');
    return Object.keys(outcome.errors).length === 0 ? 0 : 1;
  } catch (err) {
    outcome.errors.setup = err instanceof Error ? (err.stack ?? err.message) : String(err);
    progress(`bench failed: ${outcome.errors.setup}`);
    emit(outcome, 'failed');
    return 1;
  } finally {
    for (const close of closers.reverse()) {
      await close().catch((err: unknown) => { progress(`cleanup: ${err instanceof Error ? err.message : String(err)}`); });
    }
    killAllSync();
    await services?.cleanup();
    clearTimeout(watchdog);
  }
}

main().then((code) => { process.exit(code); }, (err: unknown) => {
  progress(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  killAllSync();
  process.exit(1);
});
