/**
 * Runaway JSONata on a real worker process (api + 1 worker on Redis and Postgres, issue 9): each
 * case of the issue, in every place JSONata runs (transform, condition, switch, map items, a
 * map item's node), fails its node with expression_limit_exceeded naming the bound it hit;
 * meanwhile the worker's /health/live answers, its RSS stays under RSS_BOUND_MB; afterwards
 * the next job on that worker completes. One expression thread, so every later case also
 * proves the thread stopped before it was replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, STACK_START_MS, type DistributedStack, type StackWorker } from '../helpers/stack.js';
import { counterValue, watchWorker } from '../helpers/worker-watch.js';

/**
 * The worker's resident set may not pass this while a runaway expression runs. Measured: ~360 MB
 * at the peak of every case (the process through tsx, its expression thread included); the
 * bound leaves room for one more thread heap at its cap (WEFT_EXPRESSION_MEMORY_MB, 128 here).
 * Before the bounds, the first case grew the process past 1.3 GB.
 */
const RSS_BOUND_MB = 512;

const LONG_A = `"${'a'.repeat(40)}b"`;
const RECURSE_TAIL = '($f := function($n){ $f($n+1) }; $f(0))';
const RECURSE_DEEP = '($f := function($n){ 1 + $f($n+1) }; $f(0))';

type Bound = 'time' | 'depth' | 'size';
interface Case { name: string; bound: Bound; node: string; flow: Record<string, unknown> }

function transform(name: string, expression: string, bound: Bound): Case {
  return { name: `transform: ${name}`, bound, node: 'x', flow: { name: `limit-${name}`, nodes: [{ id: 'x', type: 'transform', expression }] } };
}

const CASES: Case[] = [
  transform('tail recursion', RECURSE_TAIL, 'time'),
  transform('deep recursion', RECURSE_DEEP, 'depth'),
  transform('a long range mapped', '$sum([1..9999999].($*2))', 'size'),
  transform('regex backtracking in $match', `$match(${LONG_A}, /(a+)+$/)`, 'time'),
  transform('regex backtracking in $replace', `$replace(${LONG_A}, /(a+)+$/, "x")`, 'time'),
  transform('string doubling through $reduce', '$reduce([1..40], function($acc, $v){ $acc & $acc }, "x")', 'size'),
  transform('$pad to a huge width', '$pad("x", 200000000)', 'size'),
  transform('$string of a huge value', '$string([1..9999999])', 'size'),
  {
    name: 'condition: regex backtracking', bound: 'time', node: 'c',
    flow: {
      name: 'limit-condition',
      nodes: [{ id: 'c', type: 'condition', expression: `$contains(${LONG_A}, /(a+)+$/)` }, { id: 'yes', type: 'transform', expression: '1' }],
      edges: [{ from: 'c', to: 'yes', when: true }],
    },
  },
  {
    name: 'switch: deep recursion', bound: 'depth', node: 's',
    flow: {
      name: 'limit-switch',
      nodes: [{ id: 's', type: 'switch', expression: RECURSE_DEEP }, { id: 'one', type: 'transform', expression: '1' }],
      edges: [{ from: 's', to: 'one', when: 1 }],
    },
  },
  {
    name: 'map items: a long range', bound: 'size', node: 'm',
    flow: { name: 'limit-map-items', nodes: [{ id: 'm', type: 'map', items: '[1..9999999].($*2)', graph: { nodes: [{ id: 'each', type: 'transform', expression: 'item' }] } }] },
  },
  {
    name: 'a map item\'s transform: tail recursion', bound: 'time', node: 'm[0].each',
    flow: { name: 'limit-map-item', nodes: [{ id: 'm', type: 'map', items: '[1]', graph: { nodes: [{ id: 'each', type: 'transform', expression: RECURSE_TAIL }] } }] },
  },
];

describe('expression limits: api + 1 worker on Redis and Postgres', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let worker: StackWorker;
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    svc = await createTestServices();
    stack = await startDistributedStack({
      ...svc, workers: ['w1'],
      env: { WORKER_CONCURRENCY: '2', WEFT_EXPRESSION_THREADS: '1', WEFT_EXPRESSION_TIMEOUT_MS: '1000', WEFT_EXPRESSION_MAX_DEPTH: '200', WEFT_EXPRESSION_MEMORY_MB: '128' },
    });
    const w = stack.workers[0];
    if (!w) throw new Error('no worker');
    worker = w;
    call = apiClient(stack.baseUrl, await stack.createWorkspace('expression-limits'));
  }, STACK_START_MS);

  afterAll(async () => {
    await stack?.stop();
    await svc?.cleanup();
  });

  async function run(flow: unknown): Promise<Record<string, any>> {
    const created = await call('POST', '/v1/flows', flow);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const res = await call('POST', `/v1/flows/${created.body.id as string}/executions`, { wait: true, timeoutMs: 60_000 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Record<string, any>;
  }

  for (const c of CASES) {
    it(`${c.name}: fails with expression_limit_exceeded (${c.bound}); the worker stays live and small, and runs the next job`, async () => {
      const hits = async (): Promise<number> => counterValue(worker, { name: 'weft_expression_limit_hits_total', label: 'bound', value: c.bound });
      const hitsBefore = await hits();

      const watch = watchWorker(worker);
      const execution = await run(c.flow).finally(() => watch.stop());
      const { probes, peakRssMb } = await watch.stop();

      expect(execution.status, JSON.stringify(execution)).toBe('failed');
      const node = (execution.nodes as Array<Record<string, any>>).find((n) => n.nodeId === c.node);
      expect(node?.status, JSON.stringify(execution.nodes)).toBe('failed');
      expect(node?.error?.code).toBe('expression_limit_exceeded');
      expect(node?.error?.category).toBe('permanent');
      expect(node?.error?.message).toContain(`${c.bound} limit (WEFT_EXPRESSION_`);
      expect(await hits()).toBeGreaterThan(hitsBefore);

      expect(probes.length).toBeGreaterThan(0);
      expect(probes.every(Boolean), `/health/live probes: ${JSON.stringify(probes)}`).toBe(true);
      expect(peakRssMb).toBeLessThan(RSS_BOUND_MB);

      // The next job on that worker (the only one) completes, its expression on a fresh thread.
      const next = await run({ name: `next-${c.name}`, nodes: [{ id: 't', type: 'transform', expression: '$sum([1..10]) & " ok"' }] });
      expect(next.status, JSON.stringify(next)).toBe('completed');
      expect(next.output).toEqual({ t: '55 ok' });
    }, 90_000);
  }
});
