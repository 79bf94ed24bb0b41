/**
 * LLM rows against LangGraph JS: a 10-node chain's makespan, one at a time, and the throughput
 * of many 6-node DAGs (fan-out 4, join) at once; the mock answers after 50 ms. LangGraph runs
 * without a checkpointer and with MemorySaver; the three run interleaved.
 */
import { runWeftBatch, weftThroughput, type BenchContext } from './context.js';
import { llmChain, llmDag, mockModel } from './flows.js';
import { runInterleaved } from './interleave.js';
import { graphThroughput, langGraphRunner, type Checkpointing } from './langgraph-baseline.js';
import { median } from './stats.js';

const CHECKPOINTING: ReadonlyArray<{ mode: Checkpointing; label: string }> = [
  { mode: 'none', label: 'LangGraph JS StateGraph, no checkpointer' },
  { mode: 'memory', label: 'LangGraph JS StateGraph + MemorySaver' },
];

export async function llmRows(ctx: BenchContext): Promise<void> {
  const { options, stack } = ctx;
  const model = mockModel(options.llmLatencyMs);
  const reps = Math.min(options.reps, 3);

  const chainFlowId = await stack.createFlow(llmChain(options.llmChainNodes, model));
  const chainRunners = CHECKPOINTING.map((c) => langGraphRunner({ shape: 'chain', length: options.llmChainNodes, model, mockUrl: ctx.mockUrl, checkpointing: c.mode }));
  const weftMakespan = async (): Promise<number> => {
    const spans: number[] = [];
    for (let i = 0; i < options.llmChainRuns; i += 1) {
      const { t0, ends } = await runWeftBatch(ctx, { flowId: chainFlowId, count: 1, what: 'weft LLM chain' });
      spans.push((ends[0] ?? Number.NaN) - t0);
    }
    return median(spans);
  };
  const graphMakespan = (runner: (typeof chainRunners)[number]) => async (): Promise<number> => {
    const spans: number[] = [];
    for (let i = 0; i < options.llmChainRuns; i += 1) {
      const t0 = performance.now();
      const [end = Number.NaN] = await runner.run(1);
      spans.push(end - t0);
    }
    return median(spans);
  };
  ctx.progress('LLM chain: warm-up');
  await weftMakespan();
  for (const runner of chainRunners) await graphMakespan(runner)();
  const [weftSpans = [], ...graphSpans] = await runInterleaved<number>({
    reps,
    onRun: (name, rep) => { ctx.progress(`LLM chain ${rep + 1}/${reps}: ${name}`); },
    contenders: [
      { name: 'weft', run: weftMakespan },
      ...chainRunners.map((runner, i) => ({ name: CHECKPOINTING[i]?.label ?? '', run: graphMakespan(runner) })),
    ],
  });
  CHECKPOINTING.forEach((c, i) => {
    ctx.rows.push({
      metric: `${options.llmChainNodes}-node LLM chain at ${options.llmLatencyMs} ms, makespan (start request → completed; median of ${options.llmChainRuns} per rep)`,
      unit: 'ms', baselineName: c.label,
      weft: weftSpans, baseline: graphSpans[i] ?? [],
      ...(c.mode === 'none' ? { target: { on: 'ratio' as const, op: '<=' as const, value: 1.03 } } : {}),
    });
  });

  const dagFlowId = await stack.createFlow(llmDag(model));
  const dagRunners = CHECKPOINTING.map((c) => langGraphRunner({ shape: 'dag', length: 6, model, mockUrl: ctx.mockUrl, checkpointing: c.mode }));
  const weftDags = (): Promise<number> => weftThroughput(ctx, { flowId: dagFlowId, count: options.dags, what: 'weft DAGs' });
  const graphDags = (runner: (typeof dagRunners)[number]) => (): Promise<number> => graphThroughput(runner, options.dags);
  ctx.progress('LLM DAGs: warm-up');
  await runWeftBatch(ctx, { flowId: dagFlowId, count: Math.min(10, options.dags), what: 'weft DAG warm-up' });
  for (const runner of dagRunners) await runner.run(Math.min(10, options.dags));
  const [weftRates = [], ...graphRates] = await runInterleaved<number>({
    reps,
    onRun: (name, rep) => { ctx.progress(`LLM DAGs ${rep + 1}/${reps}: ${name}`); },
    contenders: [
      { name: 'weft', run: weftDags },
      ...dagRunners.map((runner, i) => ({ name: CHECKPOINTING[i]?.label ?? '', run: graphDags(runner) })),
    ],
  });
  CHECKPOINTING.forEach((c, i) => {
    ctx.rows.push({
      metric: `${options.dags} concurrent 6-node LLM DAGs (fan-out 4, join) at ${options.llmLatencyMs} ms, executions/s (${options.workers} worker, concurrency ${options.llmConcurrency})`,
      unit: 'per_s', baselineName: c.label,
      weft: weftRates, baseline: graphRates[i] ?? [],
      ...(c.mode === 'none' ? { target: { on: 'ratio' as const, op: '>=' as const, value: 0.8 } } : {}),
    });
  });
}
