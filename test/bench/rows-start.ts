/**
 * Start-path rows, with no worker running (the api alone, as the baselines are alone):
 * `POST /v1/flows/:id/executions` against a bare Fastify route doing one `queue.add`, and one
 * doing the executions insert plus `queue.add`, on the same Redis and Postgres. autocannon
 * finds each one's max req/s (2xx only), then measures each one's p50/p99 latency at the same
 * offered load: 50% of Weft's max, measured first in each repetition.
 */
import autocannon from 'autocannon';
import { freePort, waitForPort } from '../helpers/private-services.js';
import type { BenchContext } from './context.js';
import { singleTransform } from './flows.js';
import { runInterleaved } from './interleave.js';
import { startBenchProcess } from './processes.js';

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

interface LoadFigures {
  maxPerSec: number;
  p50: number;
  p99: number;
  /** Non-2xx answers and connection errors over both runs: a target that fails is not fast. */
  failures: number;
}

async function load(target: Target, input: { seconds: number; connections: number; rate?: number }): Promise<autocannon.Result> {
  return autocannon({
    url: target.url, method: 'POST', headers: { ...target.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ input: { topic: 'bench' } }),
    connections: input.connections, duration: input.seconds, timeout: 10,
    ...(input.rate === undefined ? {} : { overallRate: Math.max(1, Math.round(input.rate)) }),
  });
}

/** The api's group commit, from its metrics: insert statements and the mean rows per statement. */
async function startBatchRows(baseUrl: string): Promise<{ statements: number; mean: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const figure = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const statements = figure('weft_start_batch_rows_count');
  return { statements, mean: figure('weft_start_batch_rows_sum') / statements };
}

export async function startPathRows(ctx: BenchContext): Promise<void> {
  const { options, stack } = ctx;
  const flowId = await stack.createFlow(singleTransform());
  const port = await freePort();
  const baseline = startBenchProcess({
    kind: 'baseline-start', name: 'baseline start server',
    env: {
      PORT: String(port), REDIS_URL: ctx.services.redisUrl, DATABASE_URL: ctx.services.databaseUrl,
      BENCH_PREFIX: ctx.services.prefix, BENCH_WORKSPACE_ID: stack.workspaceId, BENCH_FLOW_ID: flowId,
    },
  });
  try {
    await waitForPort(port, 60_000);
    const targets: Target[] = [
      { name: 'weft', url: `${stack.baseUrl}/v1/flows/${flowId}/executions`, headers: { authorization: `Bearer ${stack.apiKey}` } },
      { name: 'bare queue.add', url: `http://127.0.0.1:${port}/add`, headers: {} },
      { name: 'bare insert + queue.add', url: `http://127.0.0.1:${port}/insert-add`, headers: {} },
    ];
    const runs: Record<string, unknown[]> = {};
    let weftMax = Number.NaN;
    const measure = async (target: Target): Promise<LoadFigures> => {
      const max = await load(target, { seconds: options.loadSeconds, connections: options.loadConnections });
      const maxPerSec = max['2xx'] / max.duration;
      if (target.name === 'weft') weftMax = maxPerSec;
      const half = await load(target, { seconds: options.loadSeconds, connections: options.loadConnections, rate: weftMax / 2 });
      (runs[target.name] ??= []).push({ max: { perSec: maxPerSec, non2xx: max.non2xx, errors: max.errors, latency: max.latency }, half: { requests: half.requests, latency: half.latency, non2xx: half.non2xx, errors: half.errors } });
      return { maxPerSec, p50: half.latency.p50, p99: half.latency.p99, failures: max.non2xx + max.errors + half.non2xx + half.errors };
    };
    ctx.progress('start path: warm-up');
    for (const target of targets) await load(target, { seconds: 1, connections: options.loadConnections });
    const reps = Math.min(options.reps, 3);
    const [weft = [], bare = [], durable = []] = await runInterleaved<LoadFigures>({
      reps,
      onRun: (name, rep) => { ctx.progress(`start path ${rep + 1}/${reps}: ${name}`); },
      contenders: targets.map((t) => ({ name: t.name, run: () => measure(t) })),
    });
    ctx.details.startPath = runs;
    const rows = await startBatchRows(stack.baseUrl);
    ctx.details.startBatchRows = rows;
    ctx.progress(`start path: ${rows.statements} insert statements, ${rows.mean.toFixed(2)} rows each on average`);
    const failures = [...weft, ...bare, ...durable].reduce((n, f) => n + f.failures, 0);
    if (failures > 0) ctx.progress(`start path: ${failures} non-2xx answers or errors (see the JSON)`);
    const baselines = [
      { figures: bare, name: 'bare Fastify route: queue.add', maxTarget: 0.3, p99Target: 2 },
      { figures: durable, name: 'bare Fastify route: executions insert + queue.add', maxTarget: 0.8, p99Target: undefined },
    ];
    for (const b of baselines) {
      ctx.rows.push({
        metric: 'start path POST /v1/flows/:id/executions, max req/s (no worker running)',
        unit: 'per_s', baselineName: b.name,
        weft: weft.map((f) => f.maxPerSec), baseline: b.figures.map((f) => f.maxPerSec),
        target: { on: 'ratio', op: '>=', value: b.maxTarget },
      });
    }
    for (const p of ['p50', 'p99'] as const) {
      for (const b of baselines) {
        const target = p === 'p99' && b.p99Target !== undefined ? { target: { on: 'ratio' as const, op: '<=' as const, value: b.p99Target } } : {};
        ctx.rows.push({
          metric: `start path latency ${p} at 50% of Weft's max req/s`,
          unit: 'ms', baselineName: b.name,
          weft: weft.map((f) => f[p]), baseline: b.figures.map((f) => f[p]),
          ...target,
        });
      }
    }
  } finally {
    await baseline.stop();
  }
}
