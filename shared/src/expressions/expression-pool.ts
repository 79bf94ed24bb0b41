/**
 * Tenants' JSONata, evaluated in a warm pool of worker threads (piscina) so that no expression
 * can stall or exhaust the process that runs it. In the thread, jsonata's own guardrails bound
 * time and depth between steps, and each step's string and sequence are checked against the
 * size bound (expression-thread.ts). What those checks cannot interrupt — one long native call
 * such as regex backtracking — is ended here: the thread is terminated at the deadline and
 * piscina starts a fresh one. Each thread's heap is capped (resourceLimits); reaching the cap
 * terminates that thread only. Expressions cheap by construction (isCheapExpression: paths,
 * operators, constructors, linear built-ins such as $uppercase; no other function, no range)
 * skip the round trip and run in process under the same guardrails: measured, a trivial
 * transform costs about a third of the thread's.
 */
import { Piscina } from 'piscina';
import { WeftError } from '../errors/weft-error.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { EvaluateExpressionInput, ExpressionEvaluator } from './expression-evaluator.js';
import type { ExpressionBound, ExpressionLimits, ExpressionTask, ExpressionTaskResult } from './expression-task.js';
import { isCheapExpression } from './bounded-in-process.js';
import evaluateTask from './expression-thread.js';

export interface ExpressionPoolLimits extends ExpressionLimits {
  /** Old-generation heap of each thread, in MB (resourceLimits.maxOldGenerationSizeMb). */
  memoryMb: number;
  /** Threads kept warm; evaluations beyond them wait their turn (their clock starts in the thread). */
  threads: number;
}

/** Past the deadline the thread's own check had its chance: the pool ends it this much later. */
const TERMINATE_GRACE_MS = 50;

// On the sources (tsx, vitest) the thread runs the .ts file, which Node loads by stripping types.
const THREAD_FILE = new URL(import.meta.url.endsWith('.ts') ? './expression-thread.ts' : './expression-thread.js', import.meta.url);

function boundSetting(bound: ExpressionBound, limits: ExpressionPoolLimits): string {
  switch (bound) {
    case 'time': return `time limit (WEFT_EXPRESSION_TIMEOUT_MS: ${limits.timeoutMs} ms)`;
    case 'depth': return `depth limit (WEFT_EXPRESSION_MAX_DEPTH: ${limits.maxDepth})`;
    case 'size': return `size limit (WEFT_EXPRESSION_MAX_BYTES: ${limits.maxBytes} bytes)`;
    case 'memory': return `memory limit (WEFT_EXPRESSION_MEMORY_MB: ${limits.memoryMb} MB)`;
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
}

export class ExpressionPool implements ExpressionEvaluator {
  private readonly pool: Piscina<ExpressionTask, ExpressionTaskResult>;
  private readonly limits: ExpressionPoolLimits;
  private readonly taskLimits: ExpressionLimits;
  /** Whether each recent expression is cheap enough for the process (bounded, oldest out). */
  private readonly cheap = new Map<string, boolean>();

  constructor(private readonly deps: { limits: ExpressionPoolLimits; logger: Logger; metrics?: WeftMetrics | undefined }) {
    const { limits } = deps;
    this.limits = limits;
    this.taskLimits = { timeoutMs: limits.timeoutMs, maxDepth: limits.maxDepth, maxBytes: limits.maxBytes };
    this.pool = new Piscina({
      filename: THREAD_FILE.href,
      name: 'default',
      minThreads: limits.threads,
      maxThreads: limits.threads,
      idleTimeout: 2 ** 31 - 1,
      resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    this.pool.on('error', (err: unknown) => { deps.logger.error({ err }, 'expression thread failed'); });
  }

  async evaluate(input: EvaluateExpressionInput): Promise<unknown> {
    const startedAt = new BigInt64Array(new SharedArrayBuffer(8));
    const task: ExpressionTask = { expression: input.expression, data: input.data, limits: this.taskLimits, startedAt };
    const result = this.isCheap(input.expression) ? await evaluateTask(task) : await this.inThread(input, task);
    if (!result.ok) {
      if (result.limit !== undefined) throw this.limitHit(input, result.limit, result.message);
      throw new WeftError('TRANSFORM_FAILED', `${input.what} failed: ${result.message}`);
    }
    return result.json === undefined ? undefined : JSON.parse(result.json) as unknown;
  }

  private isCheap(expression: string): boolean {
    let cheap = this.cheap.get(expression);
    if (cheap === undefined) {
      cheap = isCheapExpression(expression);
      this.cheap.set(expression, cheap);
      if (this.cheap.size > 1000) {
        const oldest = this.cheap.keys().next().value;
        if (oldest !== undefined) this.cheap.delete(oldest);
      }
    }
    return cheap;
  }

  private async inThread(input: EvaluateExpressionInput, task: ExpressionTask): Promise<ExpressionTaskResult> {
    const { timeoutMs } = this.limits;
    const { startedAt } = task;
    const controller = new AbortController();
    let timedOut = false;
    // The deadline runs from when a thread started the evaluation, not from when it was queued.
    const check = (): void => {
      const at = Number(Atomics.load(startedAt, 0));
      const left = at === 0 ? timeoutMs + TERMINATE_GRACE_MS : at + timeoutMs + TERMINATE_GRACE_MS - Date.now();
      if (left > 0) {
        timer = setTimeout(check, left);
        return;
      }
      timedOut = true;
      controller.abort();
    };
    let timer = setTimeout(check, timeoutMs + TERMINATE_GRACE_MS);
    const { signal } = input;
    const onAbort = (): void => { controller.abort(signal?.reason); };
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.pool.run(task, { signal: controller.signal });
    } catch (err) {
      if (timedOut) throw this.limitHit(input, 'time', 'the thread was stopped at the deadline');
      // The node's own timeoutMs or a cancel: its reason is the node's error.
      if (signal?.aborted === true) throw signal.reason;
      if (errorCode(err) === 'ERR_WORKER_OUT_OF_MEMORY') throw this.limitHit(input, 'memory', 'the thread ran out of heap');
      throw new WeftError('INTERNAL_ERROR', `${input.what}: the expression thread failed`, { cause: err });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private limitHit(input: EvaluateExpressionInput, bound: ExpressionBound, detail: string): WeftError {
    this.deps.metrics?.expressionLimitHitsTotal.inc({ bound });
    (input.log ?? this.deps.logger).warn({ bound, what: input.what, detail, expressionLength: input.expression.length }, 'expression hit a limit');
    return new WeftError('EXPRESSION_LIMIT_EXCEEDED', `${input.what} exceeded the expression ${boundSetting(bound, this.limits)}: ${detail}`);
  }

  /** Ends the threads (a running evaluation is abandoned). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
