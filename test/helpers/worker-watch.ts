/**
 * Watching a worker process while a test abuses it: its resident set (from /proc), whether
 * /health/live answers, and its Prometheus counters.
 */
import { readFileSync } from 'node:fs';
import type { StackWorker } from './stack.js';

/** A /health/live probe that takes longer than this counts as not answered. */
const PROBE_TIMEOUT_MS = 2000;

export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? '0') / 1024;
}

export async function probeLive(worker: StackWorker): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${worker.port}/health/live`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).catch(() => null);
  return res?.ok === true;
}

/** The value of one series of a worker's counter (`name{label="value"}`), 0 when absent. */
export async function counterValue(worker: StackWorker, input: { name: string; label: string; value: string }): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${input.name}{`) && l.includes(`${input.label}="${input.value}"`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

export interface WorkerWatch {
  /** Ends the probing; answers every probe's result and the peak RSS seen. */
  stop(): Promise<{ probes: boolean[]; peakRssMb: number }>;
}

/** Probes /health/live back to back, and samples the RSS with each probe, until stopped. */
export function watchWorker(worker: StackWorker): WorkerWatch {
  const pid = worker.proc.child.pid;
  if (pid === undefined) throw new Error('worker has no pid');
  let done = false;
  const probes: boolean[] = [];
  let peakRssMb = rssMb(pid);
  const watching = (async () => {
    while (!done) {
      probes.push(await probeLive(worker));
      peakRssMb = Math.max(peakRssMb, rssMb(pid));
    }
  })();
  return {
    async stop() {
      done = true;
      await watching;
      return { probes, peakRssMb };
    },
  };
}
