/**
 * Every process the bench starts, and the one place that knows their command lines: Weft's api
 * and worker entry points (which a refactor may move), the mock provider, and the bench's own
 * baseline servers. Each child is registered so that it is killed whatever way the bench ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { withTimeout } from './waits.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Node flags that run a TypeScript entry point from the sources, as `tsx --conditions=weft-source` does. */
const SOURCE_FLAGS = ['--conditions=weft-source', '--import', 'tsx'];

export type BenchProcessKind = 'api' | 'worker' | 'embedded' | 'mock-llm' | 'baseline-start' | 'baseline-relay';

/** Entry point and arguments of each kind, relative to the repository root. */
const ENTRY_POINTS: Record<BenchProcessKind, { script: string; args: string[] }> = {
  api: { script: 'api/src/main.ts', args: ['--role=api'] },
  worker: { script: 'worker/src/main.ts', args: [] },
  embedded: { script: 'api/embedded/src/main.ts', args: [] },
  'mock-llm': { script: 'shared/src/mock-llm/cli.ts', args: [] },
  'baseline-start': { script: 'test/bench/baseline-start-server.ts', args: [] },
  'baseline-relay': { script: 'test/bench/baseline-relay-server.ts', args: [] },
};

/** Preloaded into a worker started with `heapProbe`: answers forced-GC heap readings over IPC. */
const HEAP_PROBE = 'test/bench/heap-probe.ts';

export interface BenchProcess {
  name: string;
  child: ChildProcess;
  /** The last part of what it wrote (stdout and stderr), to explain a failure. */
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

/** Last resort (deadline, signal, exit): SIGKILL every child still running. */
export function killAllSync(): void {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
}

const OUTPUT_LIMIT = 64 * 1024;

export function startBenchProcess(input: {
  kind: BenchProcessKind;
  name: string;
  env: Record<string, string | undefined>;
  /** Worker only: `--expose-gc` and the heap probe, with an IPC channel to ask it. */
  heapProbe?: boolean;
}): BenchProcess {
  const entry = ENTRY_POINTS[input.kind];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...input.env })) if (v !== undefined) env[k] = v;
  const flags = input.heapProbe === true ? ['--expose-gc', ...SOURCE_FLAGS, '--import', `./${HEAP_PROBE}`] : SOURCE_FLAGS;
  // BENCH_CPU_PROF_DIR: Weft's own processes write a V8 CPU profile there when they exit.
  const profDir = process.env.BENCH_CPU_PROF_DIR;
  const profile = profDir !== undefined && profDir !== '' && (input.kind === 'api' || input.kind === 'worker' || input.kind === 'embedded')
    ? ['--cpu-prof', `--cpu-prof-dir=${profDir}/${input.kind}`]
    : [];
  const args = [...profile, ...flags, entry.script, ...entry.args];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: input.heapProbe === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > OUTPUT_LIMIT) out = out.slice(-OUTPUT_LIMIT / 2);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => { live.delete(child); resolve(); }));
  return {
    name: input.name,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      try {
        await withTimeout(exited, 10_000, `${input.name} stopping`);
      } catch {
        child.kill('SIGKILL');
        await withTimeout(exited, 5000, `${input.name} killed`).catch(() => undefined);
      }
    },
  };
}

/** Polls `url` until it answers 2xx; fails early when the process exits, with its output. */
export async function waitForHttp(url: string, proc: BenchProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited early (${String(proc.child.exitCode ?? proc.child.signalCode)}):\n${proc.output()}`);
    }
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    if (res?.ok === true) return;
    if (performance.now() > deadline) throw new Error(`${proc.name} not ready at ${url} after ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
