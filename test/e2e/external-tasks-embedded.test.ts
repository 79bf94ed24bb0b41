/**
 * External tasks in embedded mode (`npm start`: one process, PGlite, in-memory queue, state and
 * task wake-ups), served by the TypeScript SDK worker over HTTP as any outside worker would be:
 * - a flow whose task node the SDK runs, with progress and a checkpoint, and a downstream node
 *   that reads its output; the SDK's waiting claim is woken by the in-process wake-up (the
 *   safety-net poll is set longer than the test), not found on a poll;
 * - a lease that lapses (a worker that stops heartbeating) is put back by the embedded worker's
 *   lease sweep: the SDK runs the second attempt with the first one's checkpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskWorker, type TaskWorker } from '@weft/shared/task-worker';
import { apiClient } from '../helpers/http.js';
import { localApiKey, startEmbedded } from '../helpers/embedded.js';
import type { WeftProcess } from '../helpers/processes.js';
import { PROCESS_READY_MS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

describe('external tasks in embedded mode', () => {
  let dataDir: string;
  let proc: WeftProcess | undefined;
  let baseUrl: string;
  let call: ReturnType<typeof apiClient>;
  const workers: TaskWorker[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'weft-embedded-tasks-'));
    ({ proc, baseUrl } = await startEmbedded({ dataDir, env: { WEFT_TASK_CLAIM_POLL_MS: '600000' } }));
    call = apiClient(baseUrl, await localApiKey(dataDir));
  }, PROCESS_READY_MS + 30_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close({ graceMs: 1000 })));
    await proc?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const workerToken = async (handlers: string[]): Promise<string> => {
    const r = await call('POST', '/v1/worker-tokens', { name: 'sdk', handlers });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.token as string;
  };
  const metric = async (name: string, labels = ''): Promise<number> => {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) ? l.includes(labels) : l.startsWith(`${name} `)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  const startFlow = async (nodes: unknown[], edges: unknown[], input: unknown): Promise<string> => {
    const flow = await call('POST', '/v1/flows', { name: 'embedded tasks', nodes, edges });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const started = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return started.body.executionId as string;
  };
  const ended = (executionId: string): Promise<any> => waitFor(async () => {
    const r = await call('GET', `/v1/executions/${executionId}`);
    return ['completed', 'failed', 'cancelled'].includes(r.body.status as string) ? r.body : null;
  }, { timeoutMs: 60_000, message: `execution ${executionId} ended` });

  it('runs a task node on the SDK worker, woken by the in-process wake-up, and continues the flow with its output', async () => {
    const token = await workerToken(['text.count']);
    const seen: Array<{ attempt: number; input: unknown }> = [];
    const notified = await metric('weft_task_claim_wakes_total', 'reason="notify"');
    const worker = createTaskWorker({
      url: baseUrl, token, waitMs: 20_000,
      handlers: {
        'text.count': async (input, ctx) => {
          seen.push({ attempt: ctx.attempt, input });
          ctx.progress(50, 'counting');
          await ctx.checkpoint({ counted: 'half' });
          return { words: (input as { text: string }).text.split(' ').length };
        },
      },
    });
    workers.push(worker);
    // The SDK's claim waits before the task exists: only a wake-up can hand it over.
    await waitFor(async () => (await metric('weft_task_claims_waiting')) >= 1, { timeoutMs: 30_000, message: 'the SDK claim waits' });
    const executionId = await startFlow(
      [
        { id: 'count', type: 'task', handler: 'text.count', input: { text: '{{input.text}}' } },
        { id: 'report', type: 'transform', expression: '{"n": nodes.count.words}' },
      ],
      [{ from: 'count', to: 'report' }],
      { text: 'one two three' },
    );
    const done = await ended(executionId);
    expect(done.status).toBe('completed');
    expect(done.output).toEqual({ report: { n: 3 } });
    expect(seen).toEqual([{ attempt: 1, input: { text: 'one two three' } }]);
    const node = (done.nodes as any[]).find((n) => n.nodeId === 'count');
    expect(node).toMatchObject({ status: 'completed', attempts: 1, output: { words: 3 } });
    expect(await metric('weft_task_claim_wakes_total', 'reason="notify"')).toBeGreaterThan(notified);
    expect(await metric('weft_task_claim_wakes_total', 'reason="poll"')).toBe(0);
    const events = await call('GET', `/v1/executions/${executionId}/events`, undefined, { accept: 'text/event-stream' });
    expect(String(events.body)).toContain('"node.progress"');
  });

  it('a lapsed lease is put back by the embedded lease sweep: the SDK runs the next attempt with the checkpoint', async () => {
    const token = await workerToken(['slow.render']);
    const executionId = await startFlow(
      [{ id: 'render', type: 'task', handler: 'slow.render', heartbeatTimeoutMs: 1000, retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 0 } } }],
      [],
      {},
    );
    // The first worker claims over plain HTTP, checkpoints and goes silent.
    const asWorker = apiClient(baseUrl, token);
    const first = await waitFor(async () => {
      const r = await asWorker('POST', '/v1/tasks/claim', { handlers: ['slow.render'], waitMs: 2000 });
      return r.status === 200 ? r.body : null;
    }, { timeoutMs: 30_000, message: 'first claim' });
    expect(first).toMatchObject({ executionId, attempt: 1 });
    expect((await asWorker('POST', `/v1/tasks/${first.taskId as string}/checkpoint`, { leaseId: first.leaseId, state: { frames: 10 } })).status).toBe(200);
    const seen: Array<{ attempt: number; checkpoint: unknown }> = [];
    const worker = createTaskWorker({
      url: baseUrl, token, waitMs: 20_000,
      handlers: {
        'slow.render': (_input, ctx) => {
          seen.push({ attempt: ctx.attempt, checkpoint: ctx.lastCheckpoint });
          return Promise.resolve({ resumedAt: ctx.lastCheckpoint });
        },
      },
    });
    workers.push(worker);
    const done = await ended(executionId);
    expect(done.status).toBe('completed');
    expect(seen).toEqual([{ attempt: 2, checkpoint: { frames: 10 } }]);
    expect(done.output).toEqual({ render: { resumedAt: { frames: 10 } } });
    const late = await asWorker('POST', `/v1/tasks/${first.taskId as string}/complete`, { leaseId: first.leaseId, output: 'stale' });
    expect(late.status).toBe(409);
    expect((await call('GET', `/v1/executions/${executionId}`)).body.output).toEqual({ render: { resumedAt: { frames: 10 } } });
  });
});
