/** Starts Weft's real entry points as child processes (through tsx, on the sources). */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait-for.js';

export { freePort } from './private-services.js';

export interface WeftProcess {
  name: string;
  child: ChildProcess;
  /** Everything the process wrote, for assertions and for debugging a failure. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const ROOT = new URL('../../', import.meta.url).pathname;

export function startWeftProcess(input: { name: string; script: 'api/src/main.ts' | 'api/embedded/src/main.ts' | 'worker/src/main.ts'; args?: string[]; env: Record<string, string | undefined> }): WeftProcess {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...input.env })) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, ['--conditions=weft-source', '--import', 'tsx', input.script, ...(input.args ?? [])], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  return {
    name: input.name,
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export async function waitForHttp(url: string, proc: WeftProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited early:\n${proc.output()}`);
    const res = await fetch(url).catch(() => null);
    return res?.ok === true;
  }, { timeoutMs, intervalMs: 100, message: `${proc.name} at ${url}` }).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- ${proc.name} output ---\n${proc.output()}`);
  });
}
