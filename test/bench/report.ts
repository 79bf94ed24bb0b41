/** The printed report: plain-text tables, then the ratios the project tracks. */
import type { StatementCounts } from './pg-statements.js';
import type { MonitorCounts } from './redis-monitor.js';
import type { RedisUsage } from './redis-counters.js';
import type { ChainPhases } from './chain-phases.js';
import { percentile, type BatchResult } from './stats.js';

export interface Measurement {
  name: string;
  /** Nodes (jobs) per chain. */
  nodes: number;
  /** The loaded runs, one per round. */
  rounds: BatchResult[];
  /** End-to-end times of chains run one at a time. */
  serialMs: number[];
  /** Weft: the serial chains' time split at their events. */
  phases: ChainPhases[];
  /** Summed over the loaded runs. */
  redis?: RedisUsage;
  /** SQL statements of the loaded runs, the bench's own left out. */
  pg?: StatementCounts;
  monitor?: { counts: MonitorCounts; nodes: number };
}

export interface ReportContext {
  executions: number;
  nodes: number;
  concurrency: number;
  rounds: number;
  serial: number;
  warmup: number;
  sharedRedis: boolean;
  totalSeconds: number;
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Names and notes read left-aligned, numbers right-aligned.
  const left = (i: number): boolean => i === 0 || header[i] === 'note';
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (left(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const times = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '-');
const median = (values: readonly number[]): number => percentile(values, 50);

/** Nodes (jobs) per second of one loaded run. */
function roundThroughput(m: Measurement, round: BatchResult): number {
  return (round.latenciesMs.length * m.nodes) / (round.wallMs / 1000);
}

export function throughputs(m: Measurement): number[] {
  return m.rounds.map((r) => roundThroughput(m, r));
}

function loadedLatencies(m: Measurement): number[] {
  return m.rounds.flatMap((r) => r.latenciesMs);
}

function loadedNodes(m: Measurement): number {
  return m.rounds.reduce((sum, r) => sum + r.latenciesMs.length, 0) * m.nodes;
}

/** Unloaded end-to-end time of a chain, per node. */
export function perNodeMs(m: Measurement): number {
  return median(m.serialMs) / m.nodes;
}

/** Median over rounds of a/b, each pair measured back to back: drift between rounds cancels. */
function pairedRatio(a: Measurement, b: Measurement): number {
  const ta = throughputs(a);
  const tb = throughputs(b);
  return median(ta.map((t, i) => t / (tb[i] ?? Number.NaN)));
}

function loadedSection(ctx: ReportContext, all: readonly Measurement[]): string[] {
  return [
    `Loaded: ${ctx.executions} chains enqueued at once, ${ctx.rounds} round(s) per system, interleaved ` +
      '(latency from the enqueue; "durable" = every final row in Postgres)',
    table(
      ['system', 'nodes/s', 'min-max', 'chain p50 ms', 'chain p95 ms', 'durable s'],
      all.map((m) => {
        const t = throughputs(m);
        const durable = m.rounds.map((r) => r.durableMs ?? Number.NaN);
        return [
          m.name, fixed(median(t), 0), `${fixed(Math.min(...t), 0)}-${fixed(Math.max(...t), 0)}`,
          fixed(percentile(loadedLatencies(m), 50)), fixed(percentile(loadedLatencies(m), 95)),
          durable.every(Number.isFinite) ? fixed(median(durable) / 1000, 2) : '-',
        ];
      }),
    ),
  ];
}

function unloadedSection(ctx: ReportContext, all: readonly Measurement[]): string[] {
  const phase = (m: Measurement, key: keyof ChainPhases): string => (m.phases.length === 0 ? '-' : fixed(median(m.phases.map((p) => p[key])), 2));
  return [
    `Unloaded: ${ctx.serial} chains one at a time (Weft phases from the chain's events: enqueue → first node.started; ` +
      'node.started → node.completed; node.completed → next node.started)',
    table(
      ['system', 'chain p50 ms', 'chain p95 ms', 'per node ms', 'to 1st node', 'in node', 'hop'],
      all.map((m) => [
        m.name, fixed(median(m.serialMs), 2), fixed(percentile(m.serialMs, 95), 2), fixed(perNodeMs(m), 2),
        phase(m, 'toFirstNodeMs'), phase(m, 'inNodeMs'), phase(m, 'hopMs'),
      ]),
    ),
  ];
}

function serverSection(ctx: ReportContext, all: readonly Measurement[]): string[] {
  const counted = all.filter((m) => m.redis !== undefined || m.pg !== undefined);
  if (counted.length === 0) return [];
  const sum = (counts: StatementCounts | undefined, pick: (label: string) => boolean): number =>
    counts ? [...counts].filter(([label]) => pick(label)).reduce((s, [, n]) => s + n, 0) : Number.NaN;
  const out = [
    `Server work per node, loaded runs (Redis: INFO commandstats, commands inside Lua scripts included${ctx.sharedRedis ? '; shared server: other clients included' : ''}; ` +
      'SQL: statements this process sent, the bench\'s own left out)',
    table(
      ['system', 'redis cmds', 'script calls', 'redis B in', 'redis B out', 'sql stmts', 'node_runs rows'],
      counted.map((m) => {
        const n = loadedNodes(m);
        const per = (v: number | undefined, digits = 2): string => fixed((v ?? Number.NaN) / n, digits);
        return [
          m.name, per(m.redis?.commands), per(m.redis?.scriptCalls), per(m.redis?.netInputBytes, 0), per(m.redis?.netOutputBytes, 0),
          per(sum(m.pg, (l) => !l.endsWith(' rows'))), per(m.pg?.get('insert node_runs rows') ?? (m.pg ? 0 : undefined)),
        ];
      }),
    ),
  ];
  for (const m of counted) {
    const n = loadedNodes(m);
    const top = (counts: Map<string, number>, limit: number): string =>
      [...counts].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([label, c]) => `${label} ${fixed(c / n, 2)}`).join(', ');
    if (m.redis) out.push(`  ${m.name} redis: ${top(m.redis.byCommand, 10)}`);
    if (m.pg && m.pg.size > 0) out.push(`  ${m.name} sql: ${top(m.pg, 10)}`);
  }
  return out;
}

function monitorSection(all: readonly Measurement[]): string[] {
  const monitored = all.filter((m) => m.monitor !== undefined);
  if (monitored.length === 0) return [];
  const out = [
    'Round trips per node (MONITOR, a separate small run; a MULTI…EXEC block counts once; pipelines are not visible)',
    table(['system', 'round trips', 'in-script cmds'], monitored.map((m) => {
      const { counts, nodes } = m.monitor ?? { counts: null, nodes: Number.NaN };
      return [m.name, fixed((counts?.roundTrips ?? Number.NaN) / nodes, 2), fixed((counts?.inScript ?? Number.NaN) / nodes, 2)];
    })),
  ];
  for (const m of monitored) {
    if (!m.monitor) continue;
    const { counts, nodes } = m.monitor;
    out.push(`  ${m.name}: round trips per node (bytes of arguments per call)`);
    for (const [label, n] of [...counts.clientByLabel].sort((a, b) => b[1] - a[1])) {
      const bytes = (counts.clientBytesByLabel.get(label) ?? 0) / n;
      if (n / nodes >= 0.005) out.push(`    ${fixed(n / nodes, 2).padStart(6)}  ${label} (${fixed(bytes, 0)} B)`);
    }
    const perScript = new Map<string, Array<[string, number]>>();
    for (const [label, n] of counts.scriptByLabel) {
      const split = label.indexOf(': ');
      const script = label.slice(0, split);
      perScript.set(script, [...(perScript.get(script) ?? []), [label.slice(split + 2), n]]);
    }
    out.push(`  ${m.name}: commands inside scripts per node`);
    const total = (list: Array<[string, number]>): number => list.reduce((s, [, n]) => s + n, 0);
    for (const [script, list] of [...perScript].sort((a, b) => total(b[1]) - total(a[1]))) {
      const detail = list.sort((a, b) => b[1] - a[1]).map(([cmd, n]) => `${cmd} ${fixed(n / nodes, 1)}`).join(', ');
      out.push(`    ${fixed(total(list) / nodes, 2).padStart(6)}  ${script} (${detail})`);
    }
  }
  return out;
}

export function renderReport(ctx: ReportContext, all: readonly Measurement[]): string {
  const head = `Weft bench: K=${ctx.nodes} nodes per chain, E=${ctx.executions} chains at once, worker concurrency ${ctx.concurrency}, ` +
    `${ctx.rounds} round(s), ${ctx.serial} serial chains, warm-up ${ctx.warmup}; one process, ${fixed(ctx.totalSeconds)} s in all`;
  const sections = [[head], loadedSection(ctx, all), unloadedSection(ctx, all), serverSection(ctx, all), monitorSection(all)];
  return sections.filter((s) => s.length > 0).map((s) => s.join('\n')).join('\n\n');
}

export interface RatioInput {
  raw: Measurement;
  distributed: { transform: Measurement; llm: Measurement; map: Measurement };
  embedded: { transform: Measurement; llm: Measurement; map: Measurement };
}

export function renderRatios(input: RatioInput): string {
  const { raw, distributed: dist, embedded: emb } = input;
  const rows: string[][] = [];
  const add = (what: string, value: string, note = ''): void => { rows.push([what, value, note]); };
  const overhead = (a: Measurement, b: Measurement): string => `${fixed(perNodeMs(a) - perNodeMs(b), 2)} ms/node`;
  const latencyRatio = (a: Measurement, b: Measurement): number => perNodeMs(a) / perNodeMs(b);
  const durable = (m: Measurement): number => median(m.rounds.map((r) => r.durableMs ?? Number.NaN));

  add('throughput: Weft distributed transform / raw BullMQ', times(pairedRatio(dist.transform, raw)), 'nodes/s over jobs/s, median of per-round ratios');
  add('loaded chain p50: Weft distributed transform / raw BullMQ', times(percentile(loadedLatencies(dist.transform), 50) / percentile(loadedLatencies(raw), 50)));
  add('unloaded per-node latency: Weft distributed / raw BullMQ', times(latencyRatio(dist.transform, raw)),
    `+${overhead(dist.transform, raw)} (Weft also runs one execution job per chain)`);
  add('throughput: Weft distributed llm / transform', times(pairedRatio(dist.llm, dist.transform)),
    `SDK call to the mock: +${overhead(dist.llm, dist.transform)} unloaded`);
  add('throughput: embedded / distributed, transform', times(pairedRatio(emb.transform, dist.transform)));
  add('throughput: embedded / distributed, llm', times(pairedRatio(emb.llm, dist.llm)));
  add('unloaded per-node latency: embedded / distributed, transform', times(latencyRatio(emb.transform, dist.transform)));
  add('unloaded per-node latency: embedded / distributed, llm', times(latencyRatio(emb.llm, dist.llm)));
  add('time to durable: embedded / distributed, transform', times(durable(emb.transform) / durable(dist.transform)));
  add('throughput: Weft distributed map items / chain nodes', times(pairedRatio(dist.map, dist.transform)),
    'the same node jobs fanned out side by side (plus one map job) instead of chained');
  add('unloaded execution: map of K items / chain of K, distributed', times(latencyRatio(dist.map, dist.transform)));
  add('unloaded execution: map of K items / chain of K, embedded', times(latencyRatio(emb.map, emb.transform)));
  if (raw.redis && dist.transform.redis) {
    const perNode = (m: Measurement, u: RedisUsage): number => u.commands / loadedNodes(m);
    const w = perNode(dist.transform, dist.transform.redis);
    const r = perNode(raw, raw.redis);
    add('redis commands: per Weft node / per raw job', times(w / r), `${fixed(w, 1)} vs ${fixed(r, 1)}`);
  }
  if (raw.monitor && dist.transform.monitor) {
    const rt = (x: { counts: MonitorCounts; nodes: number }): number => x.counts.roundTrips / x.nodes;
    add('round trips: per Weft node / per raw job', times(rt(dist.transform.monitor) / rt(raw.monitor)),
      `${fixed(rt(dist.transform.monitor), 2)} vs ${fixed(rt(raw.monitor), 2)}`);
  }
  return ['Ratios', table(['', 'ratio', 'note'], rows)].join('\n');
}
