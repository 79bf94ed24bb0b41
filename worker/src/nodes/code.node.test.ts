/**
 * The code executor on a real CodeSandbox (QuickJS in a worker thread): what the source sees,
 * what it returns, what its console keeps, and how each bound fails the node. The abuse cases on
 * a whole worker process are in test/e2e/code-node.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { CodeNode } from '@weft/shared/flow';
import { WeftError } from '@weft/shared/errors';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import type { NodeResult } from '@weft/shared/model';
import type { NodeRunContext } from '@weft/shared/ports';
import { CodeSandbox } from '../code-sandbox/index.js';
import { createCodeNodeExecutor } from './code.node.js';

const logger = createLogger({ level: 'silent', name: 'test' });
const metrics = createMetrics();
const config = { defaultTimeoutMs: 1000, maxTimeoutMs: 1000, maxMemoryMb: 128, maxOutputBytes: 10_000, maxLogBytes: 200, threads: 1 };
const sandbox = new CodeSandbox({ config, logger, metrics });
const run = createCodeNodeExecutor({ code: sandbox, codeLimits: config });

afterAll(async () => { await sandbox.close(); });

function result(output: unknown): NodeResult {
  return { status: 'completed', output, error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: null, startedAt: null, finishedAt: new Date(0).toISOString(), runtimeMs: 1 };
}

function ctx(node: Omit<CodeNode, 'id' | 'type'>, extra: Partial<NodeRunContext<CodeNode>> = {}): NodeRunContext<CodeNode> {
  return {
    node: { id: 'c', type: 'code', ...node }, outEdges: [], workspaceId: 'ws', executionId: 'ex', attempt: 1,
    input: { n: 20 }, results: { up: result({ words: ['a', 'b'] }) }, signal: new AbortController().signal, logger, emitToken: () => undefined, ...extra,
  };
}

async function failure(node: Omit<CodeNode, 'id' | 'type'>): Promise<WeftError> {
  const err = await run(ctx(node)).then(() => null, (e: unknown) => e);
  if (!(err instanceof WeftError)) throw new Error(`expected a WeftError, got ${String(err)}`);
  return err;
}

async function runs(outcome: string): Promise<number> {
  const metric = await metrics.codeRunsTotal.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

describe('code node', () => {
  it('returns what the source returns, reading input and upstream nodes', async () => {
    const outcome = await run(ctx({ source: 'return { n: input.n + 1, words: nodes.up.words.join("+") };' }));
    expect(outcome.output).toEqual({ n: 21, words: 'a+b' });
    expect(outcome.logs).toBeUndefined();
  });

  it('awaits an async source, and sees item and index inside a map', async () => {
    const outcome = await run(ctx({ source: 'const v = await Promise.resolve(item.x); return [v * 2, index];' }, { scope: { item: { x: 4 }, index: 3 } }));
    expect(outcome.output).toEqual([8, 3]);
  });

  it('stores null for a source that returns nothing', async () => {
    expect((await run(ctx({ source: 'const x = 1;' }))).output).toBeNull();
  });

  it('keeps console lines, formatted, up to WEFT_CODE_MAX_LOG_BYTES, and marks the cut', async () => {
    const small = await run(ctx({ source: 'console.log("n is", input.n, {a: 1}); console.warn("careful"); console.error(new Error("x").message); return 1;' }));
    expect(small.logs).toEqual([{ level: 'log', message: 'n is 20 {"a":1}' }, { level: 'warn', message: 'careful' }, { level: 'error', message: 'x' }]);

    const big = await run(ctx({ source: 'for (let i = 0; i < 100; i++) console.log("line " + String(i).padStart(3, "0")); return "done";' }));
    expect(big.output).toBe('done');
    const logs = big.logs ?? [];
    const kept = logs.slice(0, -1).map((l) => l.message).join('');
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(config.maxLogBytes);
    expect(logs.at(-2)?.message.startsWith('line')).toBe(true);
    expect(logs.at(-1)).toEqual({ level: 'warn', message: '[weft] console output cut at 200 bytes (WEFT_CODE_MAX_LOG_BYTES)' });
  });

  it('fails code_error with the message and a stack in the source\'s own lines, keeping the console', async () => {
    const err = await failure({ source: 'console.log("before");\nfunction inner() { throw new TypeError("bad input"); }\ninner();' });
    expect(err.code).toBe('CODE_ERROR');
    expect(err.category).toBe('permanent');
    expect(err.message).toBe("code node 'c': TypeError: bad input\n    at inner (line 2, column 39)\n    at <anonymous> (line 3, column 6)");
    expect(err.logs).toEqual([{ level: 'log', message: 'before' }]);
  });

  it('fails code_timeout at the node\'s timeoutMs', async () => {
    const before = await runs('timeout');
    const err = await failure({ source: 'while (true) {}', timeoutMs: 200 });
    expect(err.code).toBe('CODE_TIMEOUT');
    expect(err.message).toContain('timeoutMs: 200');
    expect(await runs('timeout')).toBe(before + 1);
  });

  it('fails code_memory_exceeded past memoryMb, code_stack_exceeded past the stack', async () => {
    expect((await failure({ source: 'const a = []; for (;;) a.push("x".repeat(1000) + a.length);', memoryMb: 16 })).code).toBe('CODE_MEMORY_EXCEEDED');
    expect((await failure({ source: 'function f(n) { return f(n + 1) + 1; } return f(0);' })).code).toBe('CODE_STACK_EXCEEDED');
  });

  it('fails code_output_invalid for what JSON cannot hold, code_output_too_large past WEFT_CODE_MAX_OUTPUT_BYTES', async () => {
    for (const source of ['return () => 1;', 'const o = {}; o.self = o; return o;', 'return 10n;', 'return new Promise(() => {});']) {
      const err = await failure({ source });
      expect(err.code, source).toBe(source.includes('Promise') ? 'CODE_ERROR' : 'CODE_OUTPUT_INVALID');
    }
    expect((await failure({ source: 'return "é".repeat(6000);' })).code).toBe('CODE_OUTPUT_TOO_LARGE');
    expect((await run(ctx({ source: 'return "x".repeat(9000);' }))).output).toHaveLength(9000);
  });

  it('gives the source no host: no process, require, timers; Function reaches only the sandbox', async () => {
    const seen = await run(ctx({ source: 'const g = ({}).constructor.constructor("return this")(); return [typeof process, typeof require, typeof setTimeout, typeof g.process, Object.keys(g)];' }));
    expect(seen.output).toEqual(['undefined', 'undefined', 'undefined', 'undefined', ['console']]);
    const err = await failure({ source: 'return this.constructor.constructor("return process")();' });
    expect(err.code).toBe('CODE_ERROR');
    expect(err.message).toContain("ReferenceError: 'process' is not defined");
  });

  it('runs within this worker\'s ceilings when a flow asks more', async () => {
    const err = await failure({ source: 'while (true) {}', timeoutMs: 60_000 });
    expect(err.message).toContain(`timeoutMs: ${config.maxTimeoutMs}`);
  });

  it('stops at once when the node is cancelled', async () => {
    const controller = new AbortController();
    const running = run(ctx({ source: "while (true) {}" }, { signal: controller.signal }));
    controller.abort(new WeftError('NODE_CANCELLED', 'cancelled'));
    await expect(running).rejects.toMatchObject({ code: 'NODE_CANCELLED' });
    // The thread was replaced: the next run goes through.
    expect((await run(ctx({ source: 'return 1;' }))).output).toBe(1);
  });
});
