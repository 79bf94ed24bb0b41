/**
 * The embedded row: `npm start`'s one process (api and worker together, PGlite on its own
 * thread, the queue, state and events in memory) running many 6-node LLM DAGs at once, against
 * LangGraph JS on the same mock, interleaved. Its own data folder and port; the distributed
 * stack stays idle meanwhile (no worker runs in this phase). Ends are observed on the api's
 * WebSocket (embedded mode has no Redis to watch), which the row's throughput therefore includes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { freePort } from '../helpers/private-services.js';
import { runWeftBatch, weftThroughput, type BenchContext } from './context.js';
import { createEventTracker } from './event-observer.js';
import { llmDag, mockModel } from './flows.js';
import { runInterleaved } from './interleave.js';
import { graphThroughput, langGraphRunner } from './langgraph-baseline.js';
import { startBenchProcess, waitForHttp } from './processes.js';
import { BENCH_WEFT_ENV, READY_TIMEOUT_MS, benchWorkspace, type WeftClient } from './weft-stack.js';
import { drainWaiter } from './waits.js';
import { openSocket, subscribeToFlow } from './ws-client.js';

export async function embeddedRows(ctx: BenchContext): Promise<void> {
  const { options } = ctx;
  const model = mockModel(options.llmLatencyMs);
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-bench-embedded-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const adminToken = randomBytes(24).toString('hex');
  const weft = startBenchProcess({
    kind: 'embedded', name: 'embedded weft',
    env: {
      ...BENCH_WEFT_ENV,
      REDIS_URL: undefined, DATABASE_URL: undefined,
      WEFT_DATA_DIR: dataDir, WEFT_ADMIN_TOKEN: adminToken, WEFT_MASTER_KEY: randomBytes(32).toString('base64'),
      PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: options.logLevel, SHUTDOWN_GRACE_MS: '2000',
      WORKER_CONCURRENCY: String(options.llmConcurrency),
    },
  });
  let socket: WebSocket | null = null;
  let client: WeftClient | null = null;
  try {
    await waitForHttp(`${baseUrl}/health/ready`, weft, READY_TIMEOUT_MS);
    const workspace = await benchWorkspace({ baseUrl, adminToken, mockUrl: ctx.mockUrl });
    client = workspace;
    const flowId = await workspace.createFlow(llmDag(model));
    const observer = createEventTracker();
    socket = await openSocket(`${baseUrl.replace('http', 'ws')}/v1/ws`, { authorization: `Bearer ${workspace.apiKey}` }, (message) => { observer.receive(message); });
    await subscribeToFlow(socket, flowId, 'embedded websocket subscription');

    // No Redis to ask for the flush log: a batch is flushed once Postgres (PGlite) holds none of
    // its executions unended, which the flusher's finalize writes after their node rows.
    const lagsMs: number[] = [];
    ctx.details.embeddedFlushLagAfterBatchMs = lagsMs;
    const drained = drainWaiter(async () => !(await workspace.hasOpenExecutions(flowId)), { timeoutMs: options.timeoutMs, what: 'embedded flush', lagsMs });
    const target = { stack: workspace, observer, options, drained };
    const weftDags = (): Promise<number> => weftThroughput(target, { flowId, count: options.dags, what: 'embedded weft DAGs' });
    const runner = langGraphRunner({ shape: 'dag', length: 6, model, mockUrl: ctx.mockUrl, checkpointing: 'none' });
    const graphDags = (): Promise<number> => graphThroughput(runner, options.dags);
    ctx.progress('embedded DAGs: warm-up');
    await runWeftBatch(target, { flowId, count: Math.min(10, options.dags), what: 'embedded weft DAG warm-up' });
    await runner.run(Math.min(10, options.dags));
    const reps = Math.min(options.reps, 3);
    const [weftRates = [], graphRates = []] = await runInterleaved<number>({
      reps,
      onRun: (name, rep) => { ctx.progress(`embedded DAGs ${rep + 1}/${reps}: ${name}`); },
      contenders: [{ name: 'embedded weft', run: weftDags }, { name: 'LangGraph', run: graphDags }],
    });
    ctx.rows.push({
      metric: `${options.dags} concurrent 6-node LLM DAGs (fan-out 4, join) at ${options.llmLatencyMs} ms, executions/s, embedded mode (one process, PGlite; concurrency ${options.llmConcurrency})`,
      unit: 'per_s', baselineName: 'LangGraph JS StateGraph, no checkpointer',
      weft: weftRates, baseline: graphRates,
      target: { on: 'ratio', op: '>=', value: 0.6 },
    });
  } finally {
    socket?.terminate();
    await client?.close();
    await weft.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
