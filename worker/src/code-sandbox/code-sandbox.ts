/**
 * Tenants' JavaScript (code nodes), run in QuickJS compiled to WASM inside a warm pool of worker
 * threads (piscina), never in the worker's own V8 context: the worker's event loop stays free
 * while a source spins. Bounds: QuickJS interrupts the source at its deadline and stops it at
 * its memory limit and stack bound (code-thread.ts); what it cannot interrupt (one long native
 * call) is ended here, by terminating the thread shortly after the deadline; piscina starts a
 * fresh one. The deadline runs from when the node asked, so waiting for a free thread counts.
 */
import { Piscina } from 'piscina';
import { WeftError } from '@weft/shared/errors';
import type { ErrorCode } from '@weft/shared/errors';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { CodeSandboxConfig } from '@weft/shared/config';
import type { CodeLogEntry, CodeRunOutcome, CodeTask, CodeTaskResult } from './code-task.js';

/** Past the deadline QuickJS's interrupt had its chance: the pool ends the thread this much later. */
const TERMINATE_GRACE_MS = 250;

// On the sources (tsx, vitest) the thread runs the .ts file, which Node loads by stripping types.
const THREAD_FILE = new URL(import.meta.url.endsWith('.ts') ? './code-thread.ts' : './code-thread.js', import.meta.url);

const CODE_OF: Record<Exclude<CodeRunOutcome, 'ok' | 'cancelled'>, ErrorCode> = {
  error: 'CODE_ERROR',
  timeout: 'CODE_TIMEOUT',
  memory: 'CODE_MEMORY_EXCEEDED',
  stack: 'CODE_STACK_EXCEEDED',
  output_invalid: 'CODE_OUTPUT_INVALID',
  output_too_large: 'CODE_OUTPUT_TOO_LARGE',
};

export interface CodeRunInput {
  source: string;
  /** `{input, nodes, item?, index?}`: JSON values. */
  data: unknown;
  memoryMb: number;
  timeoutMs: number;
  /** How to name the run in messages: `code node 'x'`. */
  what: string;
  signal?: AbortSignal | undefined;
  log?: Logger | undefined;
}

export interface CodeRunResult {
  output: unknown;
  logs: CodeLogEntry[];
}

/** Runs code nodes' sources; see the file comment. */
export interface CodeRunner {
  run(input: CodeRunInput): Promise<CodeRunResult>;
}

export class CodeSandbox implements CodeRunner {
  private readonly pool: Piscina<CodeTask, CodeTaskResult>;

  constructor(private readonly deps: { config: CodeSandboxConfig; logger: Logger; metrics?: WeftMetrics | undefined }) {
    this.pool = new Piscina({
      filename: THREAD_FILE.href,
      name: 'default',
      minThreads: deps.config.threads,
      maxThreads: deps.config.threads,
      idleTimeout: 2 ** 31 - 1,
      // The sandbox's heap is WASM memory (capped per run in the thread); the thread's own heap
      // holds the data going in and the JSON coming out.
      resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    this.pool.on('error', (err: unknown) => { deps.logger.error({ err }, 'code sandbox thread failed'); });
  }

  async run(input: CodeRunInput): Promise<CodeRunResult> {
    const { config } = this.deps;
    const log = input.log ?? this.deps.logger;
    const t0 = performance.now();
    const deadline = Date.now() + input.timeoutMs;
    let outcome: CodeRunOutcome = 'error';
    try {
      const result = await this.inThread(input, {
        source: input.source,
        dataJson: JSON.stringify(input.data),
        memoryMb: input.memoryMb,
        deadline,
        maxOutputBytes: config.maxOutputBytes,
        maxLogBytes: config.maxLogBytes,
      });
      if (!result.ok) {
        outcome = result.outcome;
        throw this.failure(input, result);
      }
      outcome = 'ok';
      return { output: JSON.parse(result.json) as unknown, logs: result.logs };
    } catch (err) {
      if (input.signal?.aborted === true && !(err instanceof WeftError && err.code.startsWith('CODE_'))) outcome = 'cancelled';
      throw err;
    } finally {
      const seconds = (performance.now() - t0) / 1000;
      this.deps.metrics?.codeRunsTotal.inc({ outcome });
      this.deps.metrics?.codeSandboxDuration.observe({ outcome }, seconds);
      const fields = { what: input.what, outcome, memoryMb: input.memoryMb, timeoutMs: input.timeoutMs, sourceLength: input.source.length, ms: Math.round(seconds * 1000) };
      if (outcome === 'ok' || outcome === 'cancelled') log.debug(fields, 'code node ran');
      else log.info(fields, 'code node failed in its sandbox');
    }
  }

  private async inThread(input: CodeRunInput, task: CodeTask): Promise<CodeTaskResult> {
    const deadline = AbortSignal.timeout(Math.max(0, task.deadline - Date.now()) + TERMINATE_GRACE_MS);
    const { signal } = input;
    try {
      return await this.pool.run(task, { signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
    } catch (err) {
      // The node's own cancel or the engine's abort: its reason is the node's error.
      if (signal?.aborted === true) throw signal.reason;
      if (deadline.aborted) return { ok: false, outcome: 'timeout', message: 'it ran past its time, and its thread was stopped', logs: [] };
      if (errorCode(err) === 'ERR_WORKER_OUT_OF_MEMORY') return { ok: false, outcome: 'memory', message: 'its thread ran out of heap', logs: [] };
      throw new WeftError('INTERNAL_ERROR', `${input.what}: the sandbox thread failed`, { cause: err });
    }
  }

  private failure(input: CodeRunInput, result: Extract<CodeTaskResult, { ok: false }>): WeftError {
    const limit = result.outcome === 'timeout' ? ` (timeoutMs: ${input.timeoutMs})` : '';
    return new WeftError(CODE_OF[result.outcome], `${input.what}: ${result.message}${limit}`, result.logs.length > 0 ? { logs: result.logs } : {});
  }

  /** Ends the threads (a running source is abandoned). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
}
