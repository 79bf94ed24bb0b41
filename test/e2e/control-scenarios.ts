/** End-to-end scenarios of steering executions: replay, cancel, retry, idempotency, waits, timeouts. */
import { expect } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWs } from '../helpers/ws-client.js';
import { createFlow, wsUrl, type Target } from './scenarios.js';

/** A dead-lettered node replayed through the api runs again, and the execution completes. */
export async function replayScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'replay',
    nodes: [
      // mock-429 refuses the first request of a prompt and answers the next one.
      { id: 'flaky', type: 'llm', provider: 'openai', model: 'mock-429', prompt: 'Replay me {{input.n}}', retry: { attempts: 1 } },
      { id: 'after', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'After {{flaky}}' },
    ],
    edges: [{ from: 'flaky', to: 'after' }],
  });
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { n: `${Date.now()}` }, wait: true });
  expect(res.body.status).toBe('failed');
  const executionId = res.body.id as string;
  const letter = await waitFor(async () => {
    const r = await call('GET', '/v1/dead-letters');
    return r.body.items?.find((l: any) => l.executionId === executionId);
  }, { timeoutMs: 5000, message: 'dead letter listed' });
  expect(letter.nodeId).toBe('flaky');
  const replay = await call('POST', `/v1/dead-letters/${letter.id as string}/replay`);
  expect(replay.status, JSON.stringify(replay.body)).toBe(202);
  expect(replay.body).toEqual({ executionId, nodeId: 'flaky', outcome: 'replayed' });
  const done = await waitFor(async () => {
    const r = await call('GET', `/v1/executions/${executionId}`);
    return r.body.status === 'completed' ? r.body : null;
  }, { timeoutMs: 20_000, message: 'replayed execution completed' });
  expect(done.nodes.map((n: any) => `${n.nodeId as string}:${n.status as string}`)).toEqual(['flaky:completed', 'after:completed']);
  expect(done.error).toBeNull();
  const letters = await call('GET', '/v1/dead-letters');
  expect(letters.body.items.some((l: any) => l.id === letter.id)).toBe(false);
  // Replaying again: the letter is gone.
  expect((await call('POST', `/v1/dead-letters/${letter.id as string}/replay`)).status).toBe(404);
}

/** Cancel during a slow LLM call: the call is aborted (the provider sees the connection close) and the execution ends cancelled. */
export async function cancelScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'cancel',
    nodes: [
      { id: 'slow', type: 'llm', provider: 'openai', model: 'mock-slow-10000', prompt: 'Take your time with {{input.x}}' },
      { id: 'never', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'After {{slow}}' },
    ],
    edges: [{ from: 'slow', to: 'never' }],
  });
  const ws = await connectWs(wsUrl(target.baseUrl), { authorization: `Bearer ${target.apiKey}` });
  try {
    ws.send({ type: 'subscribe', flowId: flow.id });
    await ws.waitForMessage((m) => m.type === 'subscribed');
    target.mock.reset();
    const start = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'cancel' } });
    const executionId = start.body.executionId as string;
    await waitFor(() => target.mock.active === 1, { message: 'slow call in flight' });
    const res = await call('POST', `/v1/executions/${executionId}/cancel`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({ executionId, status: 'cancelled' });
    await ws.waitForMessage((m) => m.type === 'execution.cancelled' && m.executionId === executionId, 10_000);
    // The provider call itself was aborted: the mock saw its client go away, which a call that
    // ran to its (10 s) end would not show.
    await waitFor(() => target.mock.requests[0]?.aborted === true, { timeoutMs: 10_000, message: 'provider connection closed' });
    const doc = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'cancelled' && r.body.nodes[0].status === 'cancelled' ? r.body : null;
    }, { timeoutMs: 10_000, message: 'cancelled document' });
    // The node that had started shows cancelled, with its start time.
    expect(doc.nodes[0].error.code).toBe('node_cancelled');
    expect(Date.parse(doc.nodes[0].startedAt)).toBeLessThanOrEqual(Date.parse(doc.finishedAt));
    await ws.waitForMessage((m) => m.type === 'node.cancelled' && m.executionId === executionId && m.nodeId === doc.nodes[0].nodeId, 10_000);
    expect(doc.nodes[1].status).toBe('pending');
    expect(target.mock.requests).toHaveLength(1);
    // Already finished: 409, for cancel and for DELETE alike.
    expect((await call('POST', `/v1/executions/${executionId}/cancel`)).status).toBe(409);
    expect((await call('DELETE', `/v1/executions/${executionId}`)).status).toBe(409);
    expect((await call('POST', '/v1/executions/0190d7a0-0000-7000-8000-000000000000/cancel')).status).toBe(404);
    // A cancelled node is not a dead letter.
    const letters = await call('GET', '/v1/dead-letters');
    expect(letters.body.items.some((l: any) => l.executionId === executionId)).toBe(false);
  } finally {
    ws.close();
  }
}

/** Retry after a failure re-runs only the failed path: completed nodes keep their results. */
export async function executionRetryScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'retry-path',
    nodes: [
      { id: 'first', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Start with {{input.n}}' },
      // mock-429 refuses a prompt once, then answers it.
      { id: 'flaky', type: 'llm', provider: 'openai', model: 'mock-429', prompt: 'Then {{first}}', retry: { attempts: 1 } },
      { id: 'last', type: 'transform', expression: '$length(nodes.flaky)' },
    ],
    edges: [{ from: 'first', to: 'flaky' }, { from: 'flaky', to: 'last' }],
  });
  target.mock.reset();
  const failed = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { n: `${Date.now()}` }, wait: true });
  expect(failed.body.status).toBe('failed');
  const executionId = failed.body.id as string;
  const firstBefore = failed.body.nodes[0];
  const retry = await call('POST', `/v1/executions/${executionId}/retry`);
  expect(retry.status, JSON.stringify(retry.body)).toBe(202);
  expect(retry.body).toEqual({ executionId, status: 'running', retried: ['flaky'] });
  const done = await waitFor(async () => {
    const r = await call('GET', `/v1/executions/${executionId}`);
    return r.body.status === 'completed' ? r.body : null;
  }, { timeoutMs: 20_000, message: 'retried execution completed' });
  expect(done.nodes.map((n: any) => n.status)).toEqual(['completed', 'completed', 'completed']);
  // first was not re-run: same output and timings; the provider saw it once.
  expect(done.nodes[0]).toMatchObject({ output: firstBefore.output, finishedAt: firstBefore.finishedAt });
  expect(target.mock.requests.filter((r) => r.model === 'gpt-4o-mini' && JSON.stringify(r.body).includes('Start with'))).toHaveLength(1);
  expect(done.nodes[2].output).toBe((done.nodes[1].output as string).length);
  // Nothing to retry on a completed execution.
  expect((await call('POST', `/v1/executions/${executionId}/retry`)).status).toBe(409);
}

/** Idempotency-Key returns the same execution; an execution keeps the flow version it started with. */
export async function idempotencyAndVersionsScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const v1 = {
    name: 'versions',
    // Not streamed: the mock waits its 800 ms once, not before every chunk.
    nodes: [{ id: 'slow', type: 'llm', provider: 'openai', model: 'mock-slow-800', stream: false, prompt: 'Version one says {{input.x}}' }],
    edges: [],
  };
  const flow = await createFlow(target, v1);
  const key = `idem-${Date.now()}`;
  const first = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'a' } }, { 'idempotency-key': key });
  const again = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'a' } }, { 'idempotency-key': key });
  expect(first.status).toBe(202);
  expect(again.status).toBe(202);
  expect(again.body.executionId).toBe(first.body.executionId);
  // Updating the flow while the execution runs does not change it.
  const updated = await call('PUT', `/v1/flows/${flow.id}`, { ...v1, nodes: [{ ...v1.nodes[0], model: 'gpt-4o-mini', prompt: 'Version two says {{input.x}}' }] });
  expect(updated.status).toBe(200);
  expect(updated.body.version).toBe(2);
  const done = await waitFor(async () => {
    const r = await call('GET', `/v1/executions/${first.body.executionId as string}`);
    return r.body.status === 'completed' ? r.body : null;
  }, { timeoutMs: 15_000, message: 'pinned execution completed' });
  expect(done.flowVersion).toBe(1);
  expect(done.nodes[0].model).toBe('mock-slow-800');
  const list = await call('GET', `/v1/executions?flowId=${flow.id as string}`);
  expect(list.body.items).toHaveLength(1);
  const next = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'b' }, wait: true });
  expect(next.body.flowVersion).toBe(2);
  expect(next.body.nodes[0].model).toBe('gpt-4o-mini');
  const pinned = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'c' }, wait: true, version: 1 });
  expect(pinned.body.flowVersion).toBe(1);
}

/** Human approval and webhook waits: node.waiting brings the token; resume brings the data; a wrong token is refused; a timeout fails the wait. */
export async function waitEventsScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'approval',
    nodes: [
      { id: 'draft', type: 'transform', expression: '"draft for " & input.who' },
      { id: 'approve', type: 'wait', event: 'approval' },
      { id: 'hook', type: 'wait', event: 'webhook' },
      { id: 'publish', type: 'transform', expression: '{"approved": nodes.approve.ok, "by": nodes.hook.from, "draft": nodes.draft}' },
    ],
    edges: [{ from: 'draft', to: 'approve' }, { from: 'draft', to: 'hook' }, { from: 'approve', to: 'publish' }, { from: 'hook', to: 'publish' }],
  });
  const ws = await connectWs(wsUrl(target.baseUrl), { authorization: `Bearer ${target.apiKey}` });
  try {
    ws.send({ type: 'subscribe', flowId: flow.id });
    await ws.waitForMessage((m) => m.type === 'subscribed');
    const start = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { who: 'ana' } });
    const executionId = start.body.executionId as string;
    const hookWaiting = await ws.waitForMessage((m) => m.type === 'node.waiting' && m.nodeId === 'hook' && m.executionId === executionId);
    await ws.waitForMessage((m) => m.type === 'node.waiting' && m.nodeId === 'approve' && m.executionId === executionId);
    const token = (hookWaiting.data as any).token as string;
    expect(token.length).toBeGreaterThan(20);
    expect((await call('GET', `/v1/executions/${executionId}`)).body.status).toBe('waiting');
    // The record says so too: the list finds it by its stored status.
    const listedAs = async (status: string): Promise<string[]> =>
      ((await call('GET', `/v1/executions?flowId=${flow.id}&status=${status}`)).body.items as Array<{ id: string }>).map((e) => e.id);
    await waitFor(async () => (await listedAs('waiting')).includes(executionId), { timeoutMs: 10_000, message: 'listed as waiting' });
    // Not waiting, or not a wait node: 409.
    expect((await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'draft' })).status).toBe(409);
    // Webhooks need their token.
    const wrong = await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'hook', token: 'not-the-token', data: { from: 'mallory' } });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('resume_token_invalid');
    expect((await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'hook', data: { from: 'mallory' } })).status).toBe(403);
    const hook = await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'hook', token, data: { from: 'ci' } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(202);
    const approve = await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'approve', data: { ok: true } });
    expect(approve.status).toBe(202);
    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { timeoutMs: 10_000, message: 'approved execution completed' });
    expect(done.output).toEqual({ publish: { approved: true, by: 'ci', draft: 'draft for ana' } });
    await waitFor(async () => (await listedAs('completed')).includes(executionId), { timeoutMs: 10_000, message: 'listed as completed' });
    expect(await listedAs('waiting')).not.toContain(executionId);
    expect(ws.messages.some((m) => m.type === 'execution.waiting' && m.executionId === executionId)).toBe(true);
    expect(ws.messages.some((m) => m.type === 'execution.resumed' && m.executionId === executionId)).toBe(true);
  } finally {
    ws.close();
  }

  // An approval that never comes: the wait times out and fails the execution.
  const timed = await createFlow(target, {
    name: 'timeout',
    nodes: [{ id: 'approve', type: 'wait', event: 'approval', timeoutMs: 300 }],
    edges: [],
  });
  // wait: true answers as soon as the approval wait starts: 202 waiting, with its resume link.
  const started = await call('POST', `/v1/flows/${timed.id}/executions`, { wait: true, timeoutMs: 10_000 });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body).toMatchObject({ status: 'waiting', waiting: [{ nodeId: 'approve' }] });
  const res = await waitFor(async () => {
    const r = await call('GET', `/v1/executions/${started.body.executionId as string}`);
    return r.body.status === 'failed' ? r : null;
  }, { timeoutMs: 10_000, message: 'the unanswered approval fails the execution' });
  expect(res.body.error).toMatchObject({ code: 'wait_timeout', nodeId: 'approve' });

  // A retry waits again, with timers of its own: the queue still holds the first spell's job
  // ids, which must not swallow the new ones (the wait would then never end).
  const timedId = res.body.id as string;
  const retried = await call('POST', `/v1/executions/${timedId}/retry`);
  expect(retried.status, JSON.stringify(retried.body)).toBe(202);
  const again = await waitFor(async () => {
    const r = await call('GET', `/v1/executions/${timedId}`);
    const attempt = (r.body.nodes as Array<{ nodeId: string; status: string }>).find((n) => n.nodeId === 'approve');
    return r.body.status === 'failed' && attempt?.status === 'failed' ? r.body : null;
  }, { timeoutMs: 10_000, message: 'the retried wait timed out again' });
  expect(again.error).toMatchObject({ code: 'wait_timeout', nodeId: 'approve' });
}

/** A node's own timeout fails it; a flow's timeoutMs fails the whole execution and aborts what runs. */
export async function timeoutsScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const nodeTimeout = await createFlow(target, {
    name: 'node-timeout',
    nodes: [{ id: 'slow', type: 'llm', provider: 'openai', model: 'mock-slow-5000', prompt: 'Slowly {{input.x}}', timeoutMs: 300, retry: { attempts: 1 } }],
    edges: [],
  });
  const n = await call('POST', `/v1/flows/${nodeTimeout.id}/executions`, { input: { x: 'a' }, wait: true });
  expect(n.body.status).toBe('failed');
  expect(n.body.nodes[0]).toMatchObject({ status: 'failed', error: { code: 'node_timeout', category: 'transient' } });

  const flow = await createFlow(target, {
    name: 'execution-timeout',
    timeoutMs: 800,
    nodes: [
      { id: 'quick', type: 'transform', expression: '1' },
      { id: 'slow', type: 'llm', provider: 'openai', model: 'mock-slow-10000', prompt: 'Forever {{input.x}}' },
      { id: 'never', type: 'transform', expression: '2' },
    ],
    edges: [{ from: 'quick', to: 'slow' }, { from: 'slow', to: 'never' }],
  });
  target.mock.reset();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'b' }, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('failed');
  expect(res.body.error).toMatchObject({ code: 'execution_timeout', category: 'permanent' });
  // The running provider call was aborted (not answered after its 10 s), and nothing after it ran.
  await waitFor(() => target.mock.requests[0]?.aborted === true, { timeoutMs: 10_000, message: 'slow call aborted' });
  const doc = await waitFor(async () => {
    const r = await call('GET', `/v1/executions/${res.body.id as string}`);
    return r.body.nodes?.[1]?.status === 'cancelled' ? r.body : null;
  }, { timeoutMs: 10_000, message: 'aborted node recorded' });
  // Cut by its execution's end while it ran: cancelled, with its start time.
  expect(doc.nodes.map((x: any) => x.status)).toEqual(['completed', 'cancelled', 'pending']);
  expect(doc.nodes[1].startedAt).not.toBeNull();
  expect(doc.error).toMatchObject({ code: 'execution_timeout' });
}
