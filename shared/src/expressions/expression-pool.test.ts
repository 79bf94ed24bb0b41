/**
 * The expression pool on real worker threads (so in the services project: it starts threads).
 * Every runaway case of issue 9 ends with EXPRESSION_LIMIT_EXCEEDED naming its bound, and the
 * pool answers the next evaluation.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createMetrics } from '../metrics/index.js';
import { ExpressionPool } from './expression-pool.js';

const metrics = createMetrics();
const pool = new ExpressionPool({
  limits: { timeoutMs: 500, maxDepth: 200, maxBytes: 1_048_576, memoryMb: 64, threads: 1 },
  logger: createLogger({ level: 'silent', name: 'expression-pool-test' }),
  metrics,
});
afterAll(() => pool.close());

const LONG_A = '"' + 'a'.repeat(40) + 'b"';

/** Issue 9's runaway expressions, with the bound each must hit. */
const RUNAWAY_CASES: ReadonlyArray<{ name: string; expression: string; bound: string }> = [
  { name: 'tail recursion', expression: '($f := function($n){ $f($n+1) }; $f(0))', bound: 'time' },
  { name: 'deep recursion', expression: '($f := function($n){ 1 + $f($n+1) }; $f(0))', bound: 'depth' },
  { name: 'a long range mapped', expression: '$sum([1..9999999].($*2))', bound: 'size' },
  { name: 'regex backtracking in $match', expression: `$match(${LONG_A}, /(a+)+$/)`, bound: 'time' },
  { name: 'regex backtracking in $replace', expression: `$replace(${LONG_A}, /(a+)+$/, "x")`, bound: 'time' },
  { name: 'string doubling through $reduce', expression: '$reduce([1..40], function($acc, $v){ $acc & $acc }, "x")', bound: 'size' },
  { name: '$pad to a huge width', expression: '$pad("x", 200000000)', bound: 'size' },
  { name: '$string of a huge value', expression: '$string([1..9999999])', bound: 'size' },
];

const boundName = { time: 'time limit (WEFT_EXPRESSION_TIMEOUT_MS', depth: 'depth limit (WEFT_EXPRESSION_MAX_DEPTH', size: 'size limit (WEFT_EXPRESSION_MAX_BYTES', memory: 'memory limit (WEFT_EXPRESSION_MEMORY_MB' } as Record<string, string>;

async function hits(bound: string): Promise<number> {
  const metric = await metrics.expressionLimitHitsTotal.get();
  return metric.values.find((v) => v.labels.bound === bound)?.value ?? 0;
}

describe('ExpressionPool', () => {
  it('evaluates over the data it is given, JSONata\'s no value as undefined', async () => {
    const data = { input: { name: 'ada' }, nodes: { a: { items: [1, 2, 3] } } };
    await expect(pool.evaluate({ expression: '{ "sum": $sum(nodes.a.items), "hi": "hi " & input.name }', data, what: 't' })).resolves.toEqual({ sum: 6, hi: 'hi ada' });
    await expect(pool.evaluate({ expression: 'input.missing', data, what: 't' })).resolves.toBeUndefined();
    await expect(pool.evaluate({ expression: '$number("x")', data, what: "expression of node 't'" })).rejects.toMatchObject({ code: 'TRANSFORM_FAILED', message: expect.stringMatching(/^expression of node 't' failed: /) });
  });

  for (const c of RUNAWAY_CASES) {
    it(`stops ${c.name} at its ${c.bound} bound, then evaluates the next expression`, async () => {
      const before = await hits(c.bound);
      const err = await pool.evaluate({ expression: c.expression, data: {}, what: "expression of node 'x'" }).then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'EXPRESSION_LIMIT_EXCEEDED', category: 'permanent' });
      expect((err as Error).message).toContain(`expression of node 'x' exceeded the expression ${boundName[c.bound]}`);
      expect(await hits(c.bound)).toBe(before + 1);
      await expect(pool.evaluate({ expression: '1 + 1', data: {}, what: 'next' })).resolves.toBe(2);
    }, 20_000);
  }

  it('counts the deadline from when a thread starts the evaluation, not from when it was queued', async () => {
    // One thread: the second evaluation waits for the first to be stopped, then gets its own full time.
    const runaway = pool.evaluate({ expression: RUNAWAY_CASES[3]?.expression ?? '', data: {}, what: 'first' });
    const queued = pool.evaluate({ expression: '$sum([1..1000].($ * 2))', data: {}, what: 'second' });
    await expect(runaway).rejects.toMatchObject({ code: 'EXPRESSION_LIMIT_EXCEEDED' });
    await expect(queued).resolves.toBe(1_001_000);
  }, 20_000);

  it('holds the same bounds on a cheap expression, which it evaluates in process', async () => {
    const s = 'x'.repeat(400_000);
    await expect(pool.evaluate({ expression: 'input.s & input.s', data: { input: { s } }, what: 'cheap' })).resolves.toHaveLength(800_000);
    await expect(pool.evaluate({ expression: 'input.s & input.s & input.s', data: { input: { s } }, what: 'cheap' }))
      .rejects.toMatchObject({ code: 'EXPRESSION_LIMIT_EXCEEDED', message: expect.stringContaining('size limit (WEFT_EXPRESSION_MAX_BYTES') });
    await expect(pool.evaluate({ expression: 'input.n + "a"', data: { input: { n: 1 } }, what: "expression of node 'd'" })).rejects.toMatchObject({ code: 'TRANSFORM_FAILED' });
  });

  it('refuses a value larger than the size bound', async () => {
    await expect(pool.evaluate({ expression: '[1..200000].{"n": $}', data: {}, what: 'big' })).rejects.toMatchObject({ code: 'EXPRESSION_LIMIT_EXCEEDED', message: expect.stringContaining('size limit') });
  });

  it('gives up when the node\'s own signal aborts, with the signal\'s reason', async () => {
    const controller = new AbortController();
    const running = pool.evaluate({ expression: RUNAWAY_CASES[0]?.expression ?? '', data: {}, what: 'x', signal: controller.signal });
    const reason = new Error('node timed out');
    setTimeout(() => { controller.abort(reason); }, 50);
    await expect(running).rejects.toBe(reason);
    await expect(pool.evaluate({ expression: '"still here"', data: {}, what: 'next' })).resolves.toBe('still here');
  });
});
