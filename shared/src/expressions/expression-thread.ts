/**
 * The body of an expression thread (run by piscina in a worker thread, see expression-pool.ts).
 * It must load without a TypeScript loader (Node strips its types): it imports only packages,
 * and only types from Weft.
 */
import jsonata from 'jsonata';
import type { ExpressionTask, ExpressionTaskResult } from './expression-task.js';

const MAX_COMPILED = 500;
const compiled = new Map<string, jsonata.Expression>();

/** The longest sequence: every item costs at least 8 bytes of heap. */
function sequenceCap(maxBytes: number): number {
  return Math.max(1, Math.floor(maxBytes / 8));
}

/** Thrown from the exit hook; jsonata passes it through. */
class LimitHit extends Error {
  // No parameter properties: Node's type stripping runs this file, and they are not erasable.
  readonly weftLimit = 'size' as const;
}

function compile(task: ExpressionTask): jsonata.Expression {
  const key = `${task.limits.timeoutMs}:${task.limits.maxDepth}:${task.expression}`;
  let expr = compiled.get(key);
  if (!expr) {
    const { maxBytes } = task.limits;
    expr = jsonata(task.expression, { timeout: task.limits.timeoutMs, stack: task.limits.maxDepth, sequence: sequenceCap(maxBytes) });
    // Strings are what one step can grow fastest (doubling by `&`): each step's value is checked.
    expr.assign(Symbol.for('jsonata.__evaluate_exit') as unknown as string, (_expr: unknown, _input: unknown, _env: unknown, result: unknown): void => {
      if (typeof result === 'string' && result.length > maxBytes) {
        throw new LimitHit(`it built a string of ${result.length} characters`);
      }
    });
    compiled.set(key, expr);
    if (compiled.size > MAX_COMPILED) {
      const oldest = compiled.keys().next().value;
      if (oldest !== undefined) compiled.delete(oldest);
    }
  }
  return expr;
}

function describe(err: unknown): { message: string; code?: string } {
  if (typeof err === 'object' && err !== null) {
    const { message, code } = err as { message?: unknown; code?: unknown };
    return { message: typeof message === 'string' ? message : 'the expression failed', ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(err) };
}

export default async function evaluateTask(task: ExpressionTask): Promise<ExpressionTaskResult> {
  // Tells the pool when the clock of this evaluation started (it may have waited in the queue).
  Atomics.store(task.startedAt, 0, BigInt(Date.now()));
  let value: unknown;
  try {
    value = await compile(task).evaluate(task.data);
  } catch (err) {
    if (err instanceof LimitHit) return { ok: false, limit: err.weftLimit, message: err.message };
    const { message, code } = describe(err);
    if (code === 'D1011') return { ok: false, limit: 'depth', message: 'it nested deeper than allowed (runaway recursion?)' };
    if (code === 'D2014' || code === 'D2015') return { ok: false, limit: 'size', message: `it built a sequence longer than ${sequenceCap(task.limits.maxBytes)} items` };
    if (code === 'D1012') return { ok: false, limit: 'time', message: 'it ran past the deadline' };
    if (err instanceof RangeError) {
      // V8's own ceilings (string length, array length, call stack) are size or depth bounds too.
      return { ok: false, limit: /call stack/i.test(err.message) ? 'depth' : 'size', message: err.message };
    }
    return { ok: false, message };
  }
  const json = JSON.stringify(value) as string | undefined;
  if (json !== undefined && json.length > task.limits.maxBytes) return { ok: false, limit: 'size', message: `its value is ${json.length} characters of JSON` };
  return { ok: true, json };
}
