/**
 * External tasks on a distributed stack (api + worker processes, Redis, Postgres): task nodes
 * served by workers outside Weft over the task protocol (README, "External tasks"). The README's
 * bash worker and a TypeScript SDK worker run as real processes; the test process plays a worker
 * through plain HTTP where it must hold a lease itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskWorker } from '@weft/shared/task-worker';
import { apiClient } from '../helpers/http.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, STACK_START_MS, type DistributedStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWs } from '../helpers/ws-client.js';
import { wsUrl } from './scenarios.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The README's bash worker, as published. */
function readmeBashWorker(): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const match = /<!-- task-worker\.sh -->\n```bash\n([\s\S]*?)```/.exec(readme);
  if (!match?.[1]) throw new Error('the README has no task-worker.sh block');
  return match[1];
}

interface Child { proc: ChildProcess; output: () => string; lines: () => string[]; kill: () => Promise<void> }

function startChild(command: string, args: string[], env: Record<string, string>): Child {
  const proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => { resolve(); }));
  return {
    proc,
    output: () => out,
    lines: () => out.split('\n').filter((l) => l.startsWith('{')),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

describe('external tasks', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let call: ReturnType<typeof apiClient>;
  let apiKey: string;
  const children: Child[] = [];

  beforeAll(async () => {
    svc = await createTestServices();
    // A safety-net poll longer than any claim here: a waiting claim finds a task only when woken.
    stack = await startDistributedStack({ ...svc, workers: ['w1'], env: { WEFT_TASK_CLAIM_POLL_MS: '600000' } });
    apiKey = await stack.createWorkspace('tasks-a');
    call = apiClient(stack.baseUrl, apiKey);
  }, STACK_START_MS);

  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill()));
    await stack?.stop();
    await svc?.cleanup();
  });

  const workerToken = async (handlers: string[], key = apiKey): Promise<string> => {
    const r = await apiClient(stack.baseUrl, key)('POST', '/v1/worker-tokens', { name: 'test', handlers });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.token).toMatch(/^wt_/);
    return r.body.token as string;
  };
  const asWorker = (token: string) => apiClient(stack.baseUrl, token);
  const startFlow = async (nodes: unknown[], edges: unknown[] = [], extra: Record<string, unknown> = {}, input: unknown = {}): Promise<{ flowId: string; executionId: string }> => {
    const flow = await call('POST', '/v1/flows', { name: 'tasks', nodes, edges, ...extra });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const started = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return { flowId: flow.body.id as string, executionId: started.body.executionId as string };
  };
  const execution = async (executionId: string, statuses: string[]): Promise<any> => waitFor(async () => {
    const r = await call('GET', `/v1/executions/${executionId}`);
    return statuses.includes(r.body.status as string) ? r.body : null;
  }, { timeoutMs: 60_000, message: `execution ${statuses.join('|')}` });
  const claim = async (token: string, handlers: string[], waitMs = 10_000): Promise<any> => {
    const r = await asWorker(token)('POST', '/v1/tasks/claim', { handlers, waitMs });
    expect([200, 204], JSON.stringify(r.body)).toContain(r.status);
    return r.status === 200 ? r.body : null;
  };
  const mustClaim = async (token: string, handlers: string[]): Promise<any> =>
    waitFor(() => claim(token, handlers, 2000), { timeoutMs: 60_000, message: `a task of ${handlers.join(', ')}` });
  /** A sample of the api's /metrics (0 when absent). */
  const apiMetric = async (name: string, labels = ''): Promise<number> => {
    const text = await (await fetch(`${stack.baseUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) ? l.includes(labels) : l.startsWith(`${name} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  it('a handler nobody serves: the task waits in its queue, the depth metric shows it, and the execution timeout still applies', async () => {
    const { executionId } = await startFlow([{ id: 'lonely', type: 'task', handler: 'nobody.serves' }], [], { timeoutMs: 15_000 });
    // First of the file: no task was queued before, so the gauge cannot show an earlier one.
    await waitFor(async () => (await call('GET', `/v1/executions/${executionId}`)).body.nodes?.[0]?.task?.status === 'queued', { timeoutMs: 30_000, message: 'task queued' });
    const worker = stack.workers[0];
    if (!worker) throw new Error('no worker');
    await waitFor(async () => {
      const text = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
      const depth = /^weft_task_queue_depth\{[^}]*state="queued"[^}]*\} (\d+)/m.exec(text);
      return depth && Number(depth[1]) >= 1 ? text : null;
    }, { timeoutMs: 30_000, message: 'weft_task_queue_depth{state="queued"} >= 1' });
    const waiting = await call('GET', `/v1/executions/${executionId}`);
    expect(waiting.body.status).toBe('waiting');
    expect((waiting.body.nodes as any[])[0]).toMatchObject({ status: 'waiting', task: { status: 'queued', attempt: 0 } });
    const failed = await execution(executionId, ['failed', 'completed']);
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('execution_timeout');
    // The ended execution's task left the queue: a worker that comes now gets nothing.
    const late = await workerToken(['nobody.serves']);
    expect(await claim(late, ['nobody.serves'], 0)).toBeNull();
  });

  it('a waiting claim is woken by the task queued for it (Redis pub/sub from the worker that queued it), not by a poll', async () => {
    const token = await workerToken(['wake.me']);
    const notified = await apiMetric('weft_task_claim_wakes_total', 'reason="notify"');
    const polled = await apiMetric('weft_task_claim_wakes_total', 'reason="poll"');
    const waiting = await apiMetric('weft_task_claims_waiting');
    const pending = claim(token, ['wake.me'], 20_000);
    // The claim listens before it looks: once it waits, only a wake-up can hand it the task.
    await waitFor(async () => (await apiMetric('weft_task_claims_waiting')) > waiting, { timeoutMs: 30_000, message: 'the claim waits' });
    const { executionId } = await startFlow([{ id: 'woken', type: 'task', handler: 'wake.me' }]);
    const task = await pending;
    expect(task).toMatchObject({ executionId, nodeId: 'woken', attempt: 1 });
    expect(await apiMetric('weft_task_claim_wakes_total', 'reason="notify"')).toBeGreaterThan(notified);
    expect(await apiMetric('weft_task_claim_wakes_total', 'reason="poll"')).toBe(polled);
    expect((await asWorker(token)('POST', `/v1/tasks/${task.taskId as string}/complete`, { leaseId: task.leaseId, output: 'awake' })).status).toBe(200);
    expect((await execution(executionId, ['completed'])).output).toEqual({ woken: 'awake' });
  });

  it('a lapsed lease spends one of the node\'s attempts: the next claim is the next attempt, with the checkpoint; the last lapse fails the node task_lease_expired', async () => {
    const token = await workerToken(['lapse.job']);
    const { executionId } = await startFlow([{
      id: 'lapse', type: 'task', handler: 'lapse.job', heartbeatTimeoutMs: 1000, retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 0 } },
    }]);
    const first = await mustClaim(token, ['lapse.job']);
    expect(first).toMatchObject({ executionId, attempt: 1, maxAttempts: 2, checkpoint: null });
    expect((await asWorker(token)('POST', `/v1/tasks/${first.taskId as string}/checkpoint`, { leaseId: first.leaseId, state: { step: 1 } })).status).toBe(200);
    // No heartbeat: the lease sweep puts the task back and wakes this claim.
    const second = await claim(token, ['lapse.job'], 20_000);
    expect(second).toMatchObject({ taskId: first.taskId, attempt: 2, maxAttempts: 2, checkpoint: { step: 1 } });
    const late = await asWorker(token)('POST', `/v1/tasks/${first.taskId as string}/complete`, { leaseId: first.leaseId, output: 'stale' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('task_lease_lost');
    // The second attempt lapses too: its attempts are spent, the node fails instead of queuing again.
    const done = await execution(executionId, ['failed', 'completed']);
    expect(done.status).toBe('failed');
    const node = (done.nodes as any[])[0];
    expect(node).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'task_lease_expired' } });
    expect(node.error.message).toContain('heartbeatTimeoutMs');
    const tooLate = await asWorker(token)('POST', `/v1/tasks/${second.taskId as string}/complete`, { leaseId: second.leaseId, output: 'stale' });
    expect(tooLate.status).toBe(409);
    expect(await claim(token, ['lapse.job'], 0)).toBeNull();
    const events = await call('GET', `/v1/executions/${executionId}/events`, undefined, { accept: 'text/event-stream' });
    const retrying = String(events.body).split('\n').filter((l) => l.includes('"node.retrying"'));
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toContain('task_lease_expired');
  });

  it('runs a task node on the README bash worker, a real external process', async () => {
    const token = await workerToken(['text.shout']);
    const bash = startChild('bash', ['-c', readmeBashWorker()], { WEFT_URL: stack.baseUrl, WEFT_WORKER_TOKEN: token, HANDLER: 'text.shout' });
    children.push(bash);
    const { executionId } = await startFlow(
      [
        { id: 'shout', type: 'task', handler: 'text.shout', input: { text: '{{input.text}}' } },
        { id: 'after', type: 'transform', expression: '{"loud": nodes.shout.shout}' },
      ],
      [{ from: 'shout', to: 'after' }],
      {},
      { text: 'hello worker' },
    );
    const done = await execution(executionId, ['completed', 'failed']);
    expect(done.status, bash.output()).toBe('completed');
    expect(done.output).toEqual({ after: { loud: 'HELLO WORKER' } });
    const shout = (done.nodes as any[]).find((n) => n.nodeId === 'shout');
    expect(shout).toMatchObject({ status: 'completed', output: { shout: 'HELLO WORKER' }, attempts: 1 });
    await bash.kill();
  });

  it('a worker killed after a checkpoint: progress reaches a WebSocket client, another worker resumes from the checkpoint, the late complete is refused', async () => {
    const token = await workerToken(['video.encode']);
    const flow = await call('POST', '/v1/flows', {
      name: 'encode',
      nodes: [{ id: 'encode', type: 'task', handler: 'video.encode', heartbeatTimeoutMs: 1000, input: { file: '{{input.file}}' } }],
      edges: [],
    });
    const ws = await connectWs(wsUrl(stack.baseUrl), { authorization: `Bearer ${apiKey}` });
    ws.send({ type: 'subscribe', flowId: flow.body.id });
    await ws.waitForMessage((m) => m.type === 'subscribed');
    const first = startChild(process.execPath, ['--conditions=weft-source', '--import', 'tsx', 'test/fixtures/workers/checkpoint-then-hang.ts'], {
      WEFT_URL: stack.baseUrl, WEFT_WORKER_TOKEN: token,
    });
    children.push(first);
    const started = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { file: 'a.mp4' } });
    const executionId = started.body.executionId as string;

    const progress = await ws.waitForMessage((m) => m.type === 'node.progress', 60_000);
    expect(progress).toMatchObject({ executionId, nodeId: 'encode', data: { percent: 40, message: 'encoding', attempt: 1 } });
    ws.close();
    const held = await waitFor(() => first.lines().map((l) => JSON.parse(l) as { checkpointed: boolean; taskId: string; leaseId: string })[0], { timeoutMs: 60_000, message: first.output() });
    const doc = await call('GET', `/v1/executions/${executionId}`);
    const node = (doc.body.nodes as any[]).find((n) => n.nodeId === 'encode');
    expect(node).toMatchObject({ status: 'waiting', task: { taskId: held.taskId, handler: 'video.encode', status: 'claimed', attempt: 1, progress: { percent: 40, message: 'encoding' } } });
    await first.kill();

    // The second worker: the SDK in this process. It claims once the first lease lapsed, with the checkpoint.
    const seen: Array<{ attempt: number; checkpoint: unknown }> = [];
    const second = createTaskWorker({
      url: stack.baseUrl, token, waitMs: 2000,
      handlers: {
        'video.encode': async (input, ctx) => {
          seen.push({ attempt: ctx.attempt, checkpoint: ctx.lastCheckpoint });
          return { encoded: (input as { file: string }).file, resumedFrom: ctx.lastCheckpoint };
        },
      },
    });
    try {
      const done = await execution(executionId, ['completed', 'failed']);
      expect(done.status).toBe('completed');
      expect(seen).toEqual([{ attempt: 2, checkpoint: { done: 3 } }]);
      expect(done.output).toEqual({ encode: { encoded: 'a.mp4', resumedFrom: { done: 3 } } });
    } finally {
      await second.close({ graceMs: 5000 });
    }
    // The killed worker's late calls: refused, and the winner's output stands.
    const late = await asWorker(token)('POST', `/v1/tasks/${held.taskId}/complete`, { leaseId: held.leaseId, output: { encoded: 'stale' } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toMatch(/^task_(lease_lost|cancelled)$/);
    const beat = await asWorker(token)('POST', `/v1/tasks/${held.taskId}/heartbeat`, { leaseId: held.leaseId });
    expect(beat.status === 409 || beat.body.status === 'cancelled').toBe(true);
    const after = await call('GET', `/v1/executions/${executionId}`);
    expect(after.body.output).toEqual({ encode: { encoded: 'a.mp4', resumedFrom: { done: 3 } } });
  });

  it('cancel reaches a running external task: its heartbeat answers cancelled and its complete is refused', async () => {
    const token = await workerToken(['slow.job']);
    const { executionId } = await startFlow([{ id: 'slow', type: 'task', handler: 'slow.job' }]);
    const task = await mustClaim(token, ['slow.job']);
    expect(task).toMatchObject({ executionId, nodeId: 'slow', attempt: 1, checkpoint: null });
    const beat = await asWorker(token)('POST', `/v1/tasks/${task.taskId as string}/heartbeat`, { leaseId: task.leaseId, progress: { percent: 10 } });
    expect(beat.body).toMatchObject({ status: 'active', leaseExpiresAt: expect.any(String) });
    expect((await call('POST', `/v1/executions/${executionId}/cancel`)).status).toBeLessThan(300);
    await execution(executionId, ['cancelled']);
    const after = await asWorker(token)('POST', `/v1/tasks/${task.taskId as string}/heartbeat`, { leaseId: task.leaseId });
    expect(after.body).toEqual({ status: 'cancelled' });
    const complete = await asWorker(token)('POST', `/v1/tasks/${task.taskId as string}/complete`, { leaseId: task.leaseId, output: 1 });
    expect(complete.status).toBe(409);
    expect(complete.body.error.code).toBe('task_cancelled');
  });

  it('a non-retryable fail fails the node at once; a retryable one goes through its retry policy', async () => {
    const token = await workerToken(['flaky.job']);
    const { executionId } = await startFlow([{ id: 'flaky', type: 'task', handler: 'flaky.job', retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 0 } } }]);
    const first = await mustClaim(token, ['flaky.job']);
    const retried = await asWorker(token)('POST', `/v1/tasks/${first.taskId as string}/fail`, { leaseId: first.leaseId, code: 'gpu_busy', message: 'try later', retryable: true });
    expect(retried.body).toMatchObject({ status: 'retrying' });
    const second = await mustClaim(token, ['flaky.job']);
    expect(second).toMatchObject({ taskId: first.taskId, attempt: 2 });
    const failed = await asWorker(token)('POST', `/v1/tasks/${second.taskId as string}/fail`, { leaseId: second.leaseId, code: 'bad_input', message: 'not an image', retryable: false });
    expect(failed.body).toEqual({ status: 'failed' });
    const done = await execution(executionId, ['failed', 'completed']);
    expect(done.status).toBe('failed');
    const node = (done.nodes as any[])[0];
    expect(node).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'task_failed', category: 'permanent' } });
    expect(node.error.message).toContain('[bad_input] not an image');
    // The first lease is gone: its calls are refused.
    const stale = await asWorker(token)('POST', `/v1/tasks/${first.taskId as string}/checkpoint`, { leaseId: first.leaseId, state: {} });
    expect(stale.status).toBe(409);
    // A retry of the execution queues the task afresh: attempt 1 again, no checkpoint.
    expect((await call('POST', `/v1/executions/${executionId}/retry`)).status).toBeLessThan(300);
    const rerun = await mustClaim(token, ['flaky.job']);
    expect(rerun).toMatchObject({ taskId: first.taskId, attempt: 1, checkpoint: null });
    expect((await asWorker(token)('POST', `/v1/tasks/${rerun.taskId as string}/complete`, { leaseId: rerun.leaseId, output: 'fixed' })).status).toBe(200);
    const retried2 = await execution(executionId, ['completed']);
    expect(retried2.output).toEqual({ flaky: 'fixed' });
  });

  it('the nodes after a task keep the execution\'s priority: the task\'s report knows none, the resume reads it from the row', async () => {
    const token = await workerToken(['prio.job']);
    const flow = await call('POST', '/v1/flows', { name: 'prio', nodes: [{ id: 't', type: 'task', handler: 'prio.job' }, { id: 'after', type: 'transform', expression: 't' }], edges: [{ from: 't', to: 'after' }] });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const started = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: {}, priority: 'high' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const executionId = started.body.executionId as string;
    const task = await mustClaim(token, ['prio.job']);
    expect((await asWorker(token)('POST', `/v1/tasks/${task.taskId as string}/complete`, { leaseId: task.leaseId, output: 'done' })).status).toBe(200);
    const done = await execution(executionId, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', priority: 'high' });
    // The node job of `after`, as BullMQ keeps it once completed: its data carries the priority.
    const redis = new Redis(svc.redisUrl);
    try {
      const datas: unknown[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `*${svc.prefix}*weft-nodes-transform:${executionId}*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) if ((await redis.type(key)) === 'hash') datas.push(JSON.parse((await redis.hget(key, 'data')) ?? 'null'));
      } while (cursor !== '0');
      expect(datas).toEqual([expect.objectContaining({ nodeId: 'after', priority: 'high' })]);
    } finally {
      redis.disconnect();
    }
  });

  it('delivers only the named secrets, audits each delivery, and never shows the values', async () => {
    const secret = 'sk-task-canary-7f3a9c1e55d2';
    expect((await call('PUT', '/v1/secrets/S3_KEY', { value: secret })).status).toBe(204);
    expect((await call('PUT', '/v1/secrets/OTHER', { value: 'not-for-this-handler' })).status).toBe(204);
    const token = await workerToken(['image.resize']);
    const { executionId } = await startFlow([{ id: 'thumb', type: 'task', handler: 'image.resize', secrets: ['S3_KEY', 'MISSING'], input: { w: 256 } }]);
    const task = await mustClaim(token, ['image.resize']);
    expect(task.secrets).toEqual({ S3_KEY: secret });
    expect(task.input).toEqual({ w: 256 });
    const beat = await asWorker(token)('POST', `/v1/tasks/${task.taskId as string}/checkpoint`, { leaseId: task.leaseId, state: { step: 1 } });
    expect(beat.status).toBe(200);
    expect((await asWorker(token)('POST', `/v1/tasks/${task.taskId as string}/complete`, { leaseId: task.leaseId, output: { ok: true } })).status).toBe(200);
    await execution(executionId, ['completed']);
    const audit = await call('GET', `/v1/secret-deliveries?taskId=${task.taskId as string}`);
    expect(audit.status).toBe(200);
    expect(audit.body.items).toEqual([expect.objectContaining({ taskId: task.taskId, executionId, nodeId: 'thumb', handler: 'image.resize', attempt: 1, secretNames: ['S3_KEY', 'MISSING'] })]);
    const doc = await call('GET', `/v1/executions/${executionId}?include=outputs`);
    const events = await call('GET', `/v1/executions/${executionId}/events`, undefined, { accept: 'text/event-stream' });
    for (const text of [JSON.stringify(doc.body), JSON.stringify(audit.body), String(events.body), stack.procs.map((p) => p.output()).join('\n')]) {
      expect(text).not.toContain(secret);
    }
  });

  it('a token of another workspace claims nothing, and a token claims only its own handlers', async () => {
    const token = await workerToken(['shared.name']);
    const otherKey = await stack.createWorkspace('tasks-b');
    const other = await workerToken(['shared.name'], otherKey);
    const { executionId } = await startFlow([{ id: 'mine', type: 'task', handler: 'shared.name' }]);
    await waitFor(async () => (await call('GET', `/v1/executions/${executionId}`)).body.status === 'waiting', { timeoutMs: 30_000 });
    expect(await claim(other, ['shared.name'], 1500)).toBeNull();
    const outside = await asWorker(token)('POST', '/v1/tasks/claim', { handlers: ['shared.name', 'image.resize'] });
    expect(outside.status).toBe(403);
    expect(outside.body.error).toMatchObject({ code: 'task_handler_not_allowed', details: [{ path: '/handlers/1' }] });
    const mine = await mustClaim(token, ['shared.name']);
    expect(mine.executionId).toBe(executionId);
    // Workspace B cannot act on A's task with its own token either.
    const foreign = await asWorker(other)('POST', `/v1/tasks/${mine.taskId as string}/complete`, { leaseId: mine.leaseId, output: 'B' });
    expect(foreign.status).toBe(404);
    expect((await asWorker('wt_unknown')('POST', '/v1/tasks/claim', { handlers: ['shared.name'] })).status).toBe(401);
    // Revoked: the next call answers 401.
    const listed = await call('GET', '/v1/worker-tokens');
    const id = (listed.body.items as Array<{ id: string; handlers: string[] }>).find((t) => t.handlers.includes('shared.name'))?.id;
    expect((await call('DELETE', `/v1/worker-tokens/${id ?? ''}`)).status).toBe(204);
    expect((await asWorker(token)('POST', `/v1/tasks/${mine.taskId as string}/heartbeat`, { leaseId: mine.leaseId })).status).toBe(401);
  });

  it('a worker parks its task until an outside event: the resume link completes the node with its body', async () => {
    const token = await workerToken(['human.review']);
    const { executionId } = await startFlow([{ id: 'review', type: 'task', handler: 'human.review' }]);
    const task = await mustClaim(token, ['human.review']);
    const parked = await asWorker(token)('POST', `/v1/tasks/${task.taskId as string}/wait`, { leaseId: task.leaseId });
    expect(parked.status, JSON.stringify(parked.body)).toBe(200);
    expect(parked.body).toMatchObject({ status: 'parked', resumeUrl: expect.stringContaining('/v1/resume/') });
    const path = new URL(parked.body.resumeUrl as string).pathname;
    const resumed = await apiClient(stack.baseUrl)('POST', path, { approved: true });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(202);
    const done = await execution(executionId, ['completed', 'failed']);
    expect(done.output).toEqual({ review: { approved: true } });
  });

  it('the SDK worker\'s close releases a task still running past its grace: the next claim takes it at once, with its checkpoint', async () => {
    const token = await workerToken(['long.job']);
    const { executionId } = await startFlow([{ id: 'long', type: 'task', handler: 'long.job', heartbeatTimeoutMs: 600_000 }]);
    let running = false;
    const worker = createTaskWorker({
      url: stack.baseUrl, token, waitMs: 1000,
      handlers: {
        'long.job': async (_input, ctx) => {
          await ctx.checkpoint({ step: 1 });
          running = true;
          await new Promise((resolve) => { ctx.signal.addEventListener('abort', resolve, { once: true }); });
          return null;
        },
      },
    });
    await waitFor(() => running, { timeoutMs: 60_000, message: 'handler running' });
    expect(worker.running).toBe(1);
    await worker.close({ graceMs: 100 });
    // Its 10-minute lease was handed back: no waiting for it to lapse.
    const next = await claim(token, ['long.job'], 5000);
    expect(next).toMatchObject({ executionId, attempt: 2, checkpoint: { step: 1 } });
    expect((await asWorker(token)('POST', `/v1/tasks/${next.taskId as string}/complete`, { leaseId: next.leaseId, output: 'done' })).status).toBe(200);
    expect((await execution(executionId, ['completed'])).output).toEqual({ long: 'done' });
  });
});
