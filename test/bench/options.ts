/** Bench sizes, overridable by environment variables (the bench is a script, not a Weft process). */

export interface BenchOptions {
  /** Executions (chains) started at once in each loaded run. */
  executions: number;
  /** Nodes (jobs) per chain. */
  nodes: number;
  /** Worker concurrency of every system under test. */
  concurrency: number;
  /** Loaded runs per system, interleaved across systems so that drift hits all alike. */
  rounds: number;
  /** Chains run one at a time to measure unloaded latency (spread over the rounds). */
  serial: number;
  /** Chains started at once before measuring (JIT, caches, connection pools). */
  warmup: number;
  /** Chains started at once while MONITOR records every Redis command. */
  monitorExecutions: number;
  /** Limit of every single wait (a loaded run, one serial chain, a flush). */
  timeoutMs: number;
  /** The whole bench is aborted (and cleaned up) after this long. */
  deadlineMs: number;
  logLevel: string;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

export function benchOptions(env: Env): BenchOptions {
  const executions = int(env, 'BENCH_EXECUTIONS', 200, 1, 100_000);
  return {
    executions,
    nodes: int(env, 'BENCH_NODES', 5, 1, 100),
    concurrency: int(env, 'BENCH_CONCURRENCY', 50, 1, 1000),
    rounds: int(env, 'BENCH_ROUNDS', 4, 1, 100),
    serial: int(env, 'BENCH_SERIAL', 40, 1, 10_000),
    warmup: int(env, 'BENCH_WARMUP', Math.min(executions, 50), 0, 100_000),
    monitorExecutions: int(env, 'BENCH_MONITOR_EXECUTIONS', Math.min(executions, 20), 0, 10_000),
    timeoutMs: int(env, 'BENCH_TIMEOUT_MS', 60_000, 1000, 3_600_000),
    deadlineMs: int(env, 'BENCH_DEADLINE_MS', 170_000, 10_000, 24 * 3_600_000),
    logLevel: env.BENCH_LOG_LEVEL?.trim() || 'warn',
  };
}
