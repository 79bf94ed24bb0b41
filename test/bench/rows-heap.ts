/**
 * Heap row: worker heap per in-flight execution. N executions of one LLM node are parked on the
 * hanging mock; the heap after a forced GC, minus the heap before, over N. Weft's workers run
 * with `--expose-gc` and the heap probe (IPC); LangGraph runs in this process, forced GC through
 * V8's flag. Parked runs are cancelled (Weft) or aborted (LangGraph) after each reading.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ChildProcess } from 'node:child_process';
import type { BenchContext } from './context.js';
import { mockModel, singleLlm } from './flows.js';
import { mapLimit, runInterleaved } from './interleave.js';
import { langGraphRunner } from './langgraph-baseline.js';
import { TimeoutError, withTimeout } from './waits.js';

let probeIds = 0;

async function workerHeap(child: ChildProcess): Promise<number> {
  probeIds += 1;
  const id = probeIds;
  const answer = new Promise<number>((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      const reply = m as { type?: unknown; id?: unknown; heapUsed?: unknown; gc?: unknown };
      if (reply.type !== 'heap' || reply.id !== id) return;
      child.off('message', onMessage);
      if (reply.gc !== true) reject(new Error('worker has no gc(): not started with --expose-gc'));
      else resolve(Number(reply.heapUsed));
    };
    child.on('message', onMessage);
  });
  child.send({ type: 'heap', id });
  return withTimeout(answer, 30_000, 'worker heap probe');
}

/** BENCH_HEAP_SNAPSHOT_DIR: the first worker writes a heap snapshot there (for a profile of what a parked execution holds). */
async function workerSnapshot(child: ChildProcess, name: string): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  if (dir === undefined || dir === '') return;
  probeIds += 1;
  const id = probeIds;
  const answer = new Promise<void>((resolve) => {
    const onMessage = (m: unknown): void => {
      const reply = m as { type?: unknown; id?: unknown };
      if (reply.type !== 'snapshot' || reply.id !== id) return;
      child.off('message', onMessage);
      resolve();
    };
    child.on('message', onMessage);
  });
  child.send({ type: 'snapshot', id, path: `${dir}/${name}.heapsnapshot` });
  await withTimeout(answer, 120_000, 'worker heap snapshot');
}

function localGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => { gc(); gc(); };
}

async function waitUntil(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new TimeoutError(what, timeoutMs);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A heap reading once two in a row, half a second apart, agree within 1% (or after 20 s). Before
 * parking: what earlier rows left (timers, caches, closing sockets) is released first. Parked:
 * every run has built its request and is waiting on its socket (a node has started well before
 * its SDK call is on the wire, and on two loaded cores a thousand of them take a while).
 */
async function stableHeap(read: () => Promise<number>): Promise<number> {
  const deadline = performance.now() + 20_000;
  let last = await read();
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const next = await read();
    if (Math.abs(next - last) <= last * 0.01 || performance.now() > deadline) return next;
    last = next;
  }
}

export async function heapRows(ctx: BenchContext): Promise<void> {
  const { options, stack, observer } = ctx;
  const n = options.parked;
  const model = mockModel('hang');
  const flowId = await stack.createFlow(singleLlm(model));
  const heapOfWorkers = async (): Promise<number> => {
    const readings = await Promise.all(stack.workers.map((w) => workerHeap(w.child)));
    return readings.reduce((a, b) => a + b, 0);
  };
  const gc = localGc();
  const reps = Math.min(options.reps, 3);

  let snapshots = 0;
  const weftOnce = async (): Promise<number> => {
    const before = await stableHeap(heapOfWorkers);
    const first = stack.workers[0]?.child;
    snapshots += 1;
    // The second cycle: the first fills caches and pools that stay.
    if (first && snapshots === 2) await workerSnapshot(first, 'before');
    let started = 0;
    let cancelled = 0;
    const off = observer.listen((e) => {
      if (e.type === 'node.started') started += 1;
      if (e.type === 'execution.cancelled') cancelled += 1;
    });
    try {
      const ids = await mapLimit(Array.from({ length: n }, (_v, i) => i), 64, () => stack.startExecution(flowId, { topic: 'bench' }));
      await waitUntil(() => started >= n, options.timeoutMs, `${n} parked executions started`);
      const after = await stableHeap(heapOfWorkers);
      if (first && snapshots === 2) await workerSnapshot(first, 'parked');
      await mapLimit(ids, 32, (id) => stack.cancelExecution(id));
      await waitUntil(() => cancelled >= n, options.timeoutMs, `${n} parked executions cancelled`);
      return (after - before) / n;
    } finally {
      off();
    }
  };
  const graphOnce = async (): Promise<number> => {
    const before = await stableHeap(() => {
      gc();
      return Promise.resolve(process.memoryUsage().heapUsed);
    });
    const abort = new AbortController();
    const runner = langGraphRunner({ shape: 'dag', length: 1, model, mockUrl: ctx.mockUrl, checkpointing: 'none', signal: abort.signal });
    const running = runner.run(n);
    running.catch(() => undefined);
    try {
      await waitUntil(() => runner.requestsSent() >= n, options.timeoutMs, `${n} parked LangGraph runs`);
      const after = await stableHeap(() => {
        gc();
        return Promise.resolve(process.memoryUsage().heapUsed);
      });
      return (after - before) / n;
    } finally {
      abort.abort();
      await withTimeout(running.catch(() => undefined), 30_000, 'parked LangGraph runs aborted');
    }
  };
  // One cycle each first: the first parked executions also fill caches and pools that stay.
  ctx.progress(`heap: warm-up, ${n} parked`);
  await weftOnce();
  await graphOnce();
  const [weft = [], graph = []] = await runInterleaved<number>({
    reps,
    onRun: (name, rep) => { ctx.progress(`heap ${rep + 1}/${reps}: ${name}, ${n} parked`); },
    contenders: [{ name: 'weft', run: weftOnce }, { name: 'LangGraph', run: graphOnce }],
  });
  ctx.rows.push({
    metric: `worker heap per in-flight execution (${n} parked on a hanging mock, after forced GC)`,
    unit: 'bytes', baselineName: 'LangGraph JS, no checkpointer, same process',
    weft, baseline: graph,
    target: { on: 'weft', op: '<=', value: 16 * 1024 },
  });
}
