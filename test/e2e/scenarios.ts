/**
 * End-to-end scenarios shared by the distributed and embedded suites: the same checks must
 * hold whichever adapters run underneath.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { MockLlm } from '@weft/shared/mock-llm';
import type { Gate } from '../helpers/gate.js';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWs } from '../helpers/ws-client.js';

export interface Target {
  baseUrl: string;
  apiKey: string;
  mock: MockLlm;
  /**
   * The door in front of `mock` that the workspace's openai credential points at: open (a plain
   * pass-through) unless a scenario holds calls there to order what happens next.
   */
  gate: Gate;
}

export function loadFixture(name: string): any {
  return JSON.parse(readFileSync(new URL(`../fixtures/flows/${name}.json`, import.meta.url), 'utf8'));
}

export function wsUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/v1/ws`;
}

type Ev = Record<string, any>;

/** Node ids in the order their node.completed events arrived. */
export function assertValidEventOrder(events: Ev[], flow: { nodes: Array<{ id: string }>; edges: Array<{ from: string; to: string }> }): void {
  const types = events.map((e) => `${e.type as string}${e.nodeId ? `:${e.nodeId as string}` : ''}`);
  expect(types[0]).toBe('execution.queued');
  expect(types[1]).toBe('execution.started');
  expect(types.at(-1)).toBe('execution.completed');
  const ids = events.map((e) => e.id as string);
  for (let i = 1; i < ids.length; i++) {
    const [am, as] = ids[i - 1]!.split('-').map(BigInt);
    const [bm, bs] = ids[i]!.split('-').map(BigInt);
    expect(bm! > am! || (bm === am && bs! > as!), `event ids increase: ${ids[i - 1]} < ${ids[i]}`).toBe(true);
  }
  const pos = (t: string): number => types.indexOf(t);
  for (const node of flow.nodes) {
    expect(pos(`node.started:${node.id}`), `node.started:${node.id}`).toBeGreaterThan(1);
    expect(pos(`node.completed:${node.id}`)).toBeGreaterThan(pos(`node.started:${node.id}`));
    expect(types.filter((t) => t === `node.completed:${node.id}`)).toHaveLength(1);
  }
  for (const edge of flow.edges) {
    expect(pos(`node.started:${edge.to}`), `${edge.to} starts after ${edge.from} completed`).toBeGreaterThan(pos(`node.completed:${edge.from}`));
  }
}

export async function createFlow(target: Target, flow: unknown): Promise<any> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const res = await call('POST', '/v1/flows', flow);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** The 3-node chain: events over WebSocket, prompts carry upstream output, final document. */
export async function chainScenario(target: Target): Promise<{ executionId: string; flow: any }> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const fixture = loadFixture('chain');
  const flow = await createFlow(target, fixture);
  const ws = await connectWs(wsUrl(target.baseUrl), { authorization: `Bearer ${target.apiKey}` });
  try {
    ws.send({ type: 'subscribe', flowId: flow.id });
    await ws.waitForMessage((m) => m.type === 'subscribed');
    target.mock.reset();
    const start = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'durable execution engines' } });
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    expect(start.body.status).toBe('queued');
    const executionId = start.body.executionId as string;

    await ws.waitForMessage((m) => m.type === 'execution.completed' && m.executionId === executionId, 30_000);
    const events = ws.messages.filter((m) => m.executionId === executionId && typeof m.type === 'string' && m.type.includes('.'));
    assertValidEventOrder(events, fixture);

    // Each prompt the mock saw carries the upstream answer verbatim.
    const completed = new Map(events.filter((e) => e.type === 'node.completed').map((e) => [e.nodeId as string, (e.data as any).output as string]));
    // Streaming is the default: each node's token events, in order, spell its final output,
    // and all of them arrive before its node.completed.
    for (const node of fixture.nodes) {
      const tokens = events.filter((e) => e.type === 'node.token' && e.nodeId === node.id);
      expect(tokens.length, `token events of ${node.id as string}`).toBeGreaterThan(0);
      expect(tokens.map((e) => (e.data as any).text).join('')).toBe(completed.get(node.id));
      expect(tokens.every((e) => (e.data as any).attempt === 1)).toBe(true);
      const doneAt = events.findIndex((e) => e.type === 'node.completed' && e.nodeId === node.id);
      expect(events.indexOf(tokens.at(-1)!)).toBeLessThan(doneAt);
    }
    expect(target.mock.requests.every((r) => r.stream)).toBe(true);
    const prompts = target.mock.requests.map((r) => JSON.stringify((r.body as any).messages));
    expect(prompts).toHaveLength(3);
    expect(prompts.some((p) => p.includes('durable execution engines'))).toBe(true);
    expect(prompts.some((p) => p.includes(JSON.stringify(completed.get('research')).slice(1, -1)))).toBe(true);
    expect(prompts.some((p) => p.includes(JSON.stringify(completed.get('summary')).slice(1, -1)))).toBe(true);

    const doc = await call('GET', `/v1/executions/${executionId}`);
    expect(doc.status).toBe(200);
    expect(doc.body.status).toBe('completed');
    expect(doc.body.flowVersion).toBe(1);
    expect(doc.body.nodes.map((n: any) => n.nodeId)).toEqual(['research', 'summary', 'actions']);
    let promptTotal = 0;
    for (const node of doc.body.nodes) {
      expect(node.status).toBe('completed');
      expect(node.attempts).toBe(1);
      expect(node.output).toBe(completed.get(node.nodeId));
      expect(node.usage.totalTokens).toBe(node.usage.promptTokens + node.usage.completionTokens);
      expect(node.usage.promptTokens).toBeGreaterThan(0);
      expect(node.provider).toBe('openai');
      expect(typeof node.startedAt).toBe('string');
      expect(Date.parse(node.finishedAt)).toBeGreaterThanOrEqual(Date.parse(node.startedAt));
      expect(node.runtimeMs).toBeGreaterThanOrEqual(0);
      promptTotal += node.usage.promptTokens;
    }
    expect(doc.body.usage.promptTokens).toBe(promptTotal);
    expect(doc.body.output).toEqual({ actions: completed.get('actions') });
    return { executionId, flow };
  } finally {
    ws.close();
  }
}

/** `wait: true` answers the finished execution in one call. */
export async function waitScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, loadFixture('chain'));
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'sync answers' }, wait: true, timeoutMs: 20_000 });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('completed');
  expect(res.body.nodes).toHaveLength(3);
  expect(res.body.nodes.every((n: any) => n.status === 'completed')).toBe(true);
  expect(typeof res.body.output.actions).toBe('string');
  expect(res.body.usage.totalTokens).toBeGreaterThan(0);
}

/**
 * The start path answers 202 without waiting for the work: the flow's only node calls a provider
 * that never answers, so every 202 came back while its execution was still live. How fast the
 * start path answers is the benchmark's to measure, not a test's.
 */
export async function startAnswersBeforeWorkScenario(target: Target, runs = 7): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'start-path',
    nodes: [{ id: 'hang', type: 'llm', provider: 'openai', model: 'gpt-4o-mini/mock-hang', stream: false, prompt: 'Never answered: {{input.n}}' }],
    edges: [],
  });
  const started: string[] = [];
  for (let i = 0; i < runs; i++) {
    const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { n: i } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    started.push(res.body.executionId as string);
  }
  for (const id of started) {
    const doc = (await call('GET', `/v1/executions/${id}`)).body;
    expect(['queued', 'running']).toContain(doc.status);
  }
  // Cancelled, so later scenarios see a quiet provider.
  for (const id of started) expect((await call('POST', `/v1/executions/${id}/cancel`)).status).toBe(202);
  await waitFor(() => target.mock.active === 0, { timeoutMs: 15_000, message: 'the hanging calls closed' });
}

/** a → b, a → c, b+c → d: b and c overlap; d runs once with both outputs. */
export async function diamondScenario(target: Target, slowModel = 'mock-slow-600'): Promise<any> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const fixture = loadFixture('diamond');
  for (const node of fixture.nodes) if (node.id === 'b' || node.id === 'c') node.model = slowModel;
  const flow = await createFlow(target, fixture);
  target.mock.reset();
  // b's and c's calls wait at the gate until both are there: neither can finish before the
  // other has started, however the machine schedules the workers.
  target.gate.hold((body) => body.includes(slowModel));
  const running = call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'fan-out' }, wait: true, timeoutMs: 60_000 });
  await waitFor(() => target.gate.waiting() === 2, { timeoutMs: 30_000, message: 'b and c both calling the provider' });
  target.gate.open();
  const res = await running;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('completed');
  const nodes = new Map<string, any>(res.body.nodes.map((n: any) => [n.nodeId, n]));
  const b = nodes.get('b');
  const c = nodes.get('c');
  const d = nodes.get('d');
  // b and c ran at the same time.
  expect(Date.parse(b.startedAt)).toBeLessThan(Date.parse(c.finishedAt));
  expect(Date.parse(c.startedAt)).toBeLessThan(Date.parse(b.finishedAt));
  // d ran exactly once, after both, with both outputs in its prompt.
  const dPrompts = target.mock.requests.filter((r) => JSON.stringify((r.body as any).messages).includes(JSON.stringify(b.output).slice(1, -1)));
  const dOnly = dPrompts.filter((r) => JSON.stringify((r.body as any).messages).includes(JSON.stringify(c.output).slice(1, -1)));
  expect(dOnly).toHaveLength(1);
  expect(d.attempts).toBe(1);
  expect(Date.parse(d.startedAt)).toBeGreaterThanOrEqual(Math.max(Date.parse(b.finishedAt), Date.parse(c.finishedAt)));
  expect(target.mock.requests.map((r) => r.model).sort()).toEqual(['gpt-4o-mini', 'gpt-4o-mini', slowModel, slowModel]);
  return res.body;
}

interface SseFrame {
  id: string;
  event: string;
  data: any;
}

/** Reads an SSE response to its end (the server ends it after the terminal event). */
export async function readSse(url: string, headers: Record<string, string>): Promise<{ status: number; frames: SseFrame[] }> {
  const res = await fetch(url, { headers });
  if (res.status !== 200) return { status: res.status, frames: [] };
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const text = await res.text();
  const frames: SseFrame[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    const field = (name: string): string | undefined => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
    const id = field('id');
    const event = field('event');
    const data = field('data');
    if (id && event && data) frames.push({ id, event, data: JSON.parse(data) });
  }
  return { status: res.status, frames };
}

/** SSE replays a finished execution, ends after the terminal event, and honours Last-Event-ID. */
export async function sseScenario(target: Target, executionId: string): Promise<void> {
  const url = `${target.baseUrl}/v1/executions/${executionId}/events`;
  const all = await readSse(url, { authorization: `Bearer ${target.apiKey}` });
  expect(all.status).toBe(200);
  const types = all.frames.map((f) => f.event);
  expect(types[0]).toBe('execution.queued');
  expect(types.at(-1)).toBe('execution.completed');
  expect(types.filter((t) => t === 'node.completed')).toHaveLength(3);
  for (const f of all.frames) {
    expect(f.data.id).toBe(f.id);
    expect(f.data.type).toBe(f.event);
    expect(f.data.executionId).toBe(executionId);
  }
  // A client that saw the first three events gets exactly the rest.
  const resumed = await readSse(url, { authorization: `Bearer ${target.apiKey}`, 'last-event-id': all.frames[2]!.id });
  expect(resumed.frames.map((f) => f.id)).toEqual(all.frames.slice(3).map((f) => f.id));
  // Browsers' EventSource cannot set headers: the key may come as ?token=.
  const viaToken = await readSse(`${url}?token=${target.apiKey}`, {});
  expect(viaToken.frames.map((f) => f.id)).toEqual(all.frames.map((f) => f.id));
  // A wrong key is refused, another workspace's execution is invisible.
  expect((await readSse(url, { authorization: 'Bearer wk_wrong' })).status).toBe(401);
}

/** Subscribing over WebSocket by execution replays what happened, then goes live; bad messages get an error. */
export async function wsReplayScenario(target: Target, executionId: string): Promise<void> {
  const ws = await connectWs(`${wsUrl(target.baseUrl)}?token=${target.apiKey}`);
  try {
    ws.send({ type: 'subscribe', executionId });
    await ws.waitForMessage((m) => m.type === 'execution.completed');
    const events = ws.messages.filter((m) => typeof m.type === 'string' && m.type.includes('.'));
    expect(events[0]!.type).toBe('execution.queued');
    expect(ws.messages[0]).toEqual({ type: 'subscribed', executionId });
    const since = events[1]!.id as string;
    ws.messages.length = 0;
    ws.send({ type: 'unsubscribe', executionId });
    await ws.waitForMessage((m) => m.type === 'unsubscribed');
    ws.send({ type: 'subscribe', executionId, since });
    await ws.waitForMessage((m) => m.type === 'execution.completed');
    const replayed = ws.messages.filter((m) => typeof m.type === 'string' && m.type.includes('.'));
    expect(replayed.map((m) => m.id)).toEqual(events.slice(2).map((m) => m.id));
    ws.sendRaw('not json');
    ws.send({ type: 'subscribe', executionId: '0190d7a0-0000-7000-8000-000000000000' });
    ws.send({ type: 'dance' });
    await waitFor(() => ws.messages.filter((m) => m.type === 'error').length === 3);
    const codes = ws.messages.filter((m) => m.type === 'error').map((m) => (m.error as any).code);
    expect(codes.sort()).toEqual(['invalid_json', 'invalid_request', 'not_found']);
  } finally {
    ws.close();
  }
}

/** A transform (JSONata) feeding an LLM node through {{pick.output.x}}. */
export async function transformScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, loadFixture('transform-chain'));
  target.mock.reset();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'queues', items: ['a', 'b', 'c'] }, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('completed');
  const pick = res.body.nodes.find((n: any) => n.nodeId === 'pick');
  expect(pick.output).toEqual({ topic: 'QUEUES', count: 3 });
  expect(pick.usage).toBeNull();
  const prompt = (target.mock.requests[0]!.body as any).messages[0].content as string;
  expect(prompt).toBe('Write one line about QUEUES covering 3 items: ["a","b","c"]');
}
