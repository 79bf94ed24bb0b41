/**
 * Bench sizes: the full run, or `--quick` (smaller sizes, every row still measured). Flags:
 * `--quick`, `--reps=N`, `--workers=N` (1 or 2), `--deadline-ms=N`, `--out=DIR`,
 * `--log-level=LEVEL`, `--only=a,b` (row groups: chains, fan-in, llm, relay, heap, start, embedded).
 */

export const ROW_GROUPS = ['chains', 'fan-in', 'llm', 'relay', 'heap', 'start', 'embedded'] as const;
export type RowGroup = (typeof ROW_GROUPS)[number];

export interface BenchOptions {
  quick: boolean;
  /** Repetitions of each interleaved pair; the expensive rows (LLM, heap, start path) run min(reps, 3). */
  reps: number;
  /** Weft worker processes. */
  workers: number;
  /** Chains started at once in the transitions row, and their length. */
  chains: number;
  chainNodes: number;
  /** Worker concurrency of Weft and of the BullMQ baselines in the queue rows. */
  concurrency: number;
  /** Chains run one at a time per repetition for the hop row. */
  hopChains: number;
  /** Chains per repetition recorded by MONITOR. */
  monitorChains: number;
  fanInWidths: number[];
  /** LLM rows: mock latency, chain makespans per repetition, DAGs at once. */
  llmLatencyMs: number;
  llmChainNodes: number;
  llmChainRuns: number;
  dags: number;
  /** Worker concurrency of the LLM and heap rows (1000: every DAG node at once). */
  llmConcurrency: number;
  /** Executions parked on the hanging mock for the heap row. */
  parked: number;
  /** Chains per repetition whose events the relay row times. */
  relayChains: number;
  /** autocannon: seconds per run, connections. */
  loadSeconds: number;
  loadConnections: number;
  /** Limit of every single wait. */
  timeoutMs: number;
  /** The whole bench is stopped (what it measured so far printed, everything cleaned up) after this. */
  deadlineMs: number;
  outDir: string;
  logLevel: string;
  only: ReadonlySet<RowGroup>;
}

function flag(argv: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function int(argv: readonly string[], name: string, fallback: number, min: number, max: number): number {
  const raw = flag(argv, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

export function benchOptions(argv: readonly string[]): BenchOptions {
  const known = ['--quick', '--reps=', '--workers=', '--deadline-ms=', '--out=', '--log-level=', '--only='];
  const unknown = argv.filter((a) => !known.some((k) => (k.endsWith('=') ? a.startsWith(k) : a === k)));
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')}`);
  const quick = argv.includes('--quick');
  const onlyRaw = flag(argv, 'only');
  const only = new Set<RowGroup>();
  for (const name of onlyRaw === undefined ? ROW_GROUPS : onlyRaw.split(',')) {
    if (!(ROW_GROUPS as readonly string[]).includes(name)) throw new Error(`--only: unknown group '${name}' (${ROW_GROUPS.join(', ')})`);
    only.add(name as RowGroup);
  }
  return {
    quick,
    reps: int(argv, 'reps', 3, 3, 50),
    workers: int(argv, 'workers', 1, 1, 2),
    chains: quick ? 30 : 100,
    chainNodes: 10,
    concurrency: 50,
    hopChains: quick ? 3 : 10,
    monitorChains: quick ? 2 : 10,
    fanInWidths: quick ? [100] : [100, 1000],
    llmLatencyMs: 50,
    llmChainNodes: 10,
    llmChainRuns: quick ? 1 : 3,
    dags: quick ? 50 : 1000,
    llmConcurrency: 1000,
    parked: quick ? 50 : 1000,
    relayChains: quick ? 3 : 30,
    loadSeconds: quick ? 1 : 3,
    loadConnections: 32,
    timeoutMs: quick ? 60_000 : 180_000,
    deadlineMs: int(argv, 'deadline-ms', quick ? 175_000 : 870_000, 10_000, 24 * 3_600_000),
    outDir: flag(argv, 'out') ?? '.bench',
    logLevel: flag(argv, 'log-level') ?? 'warn',
    only,
  };
}
