/**
 * End-to-end scenarios shared by the distributed and embedded suites: the same checks must
 * hold whichever adapters run underneath.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { MockLlm } from '@weft/shared/mock-llm';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWs } from '../helpers/ws-client.js';

export interface Target {
  baseUrl: string;
  apiKey: string;
  mock: MockLlm;
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

/** Median of several 202 answers; the first start warms the path. */
export async function startLatencyMs(target: Target, runs = 7): Promise<number> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, loadFixture('chain'));
  const started: string[] = [];
  started.push((await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'warm-up' } })).body.executionId);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: `latency ${i}` } });
    expect(res.status).toBe(202);
    times.push(res.ms);
    started.push(res.body.executionId);
  }
  // Let them finish so later scenarios see a quiet provider.
  for (const id of started) {
    await waitFor(async () => (await call('GET', `/v1/executions/${id}`)).body.status === 'completed', { timeoutMs: 30_000 });
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** a → b, a → c, b+c → d: b and c overlap; d runs once with both outputs. */
export async function diamondScenario(target: Target, slowModel = 'mock-slow-600'): Promise<any> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const fixture = loadFixture('diamond');
  for (const node of fixture.nodes) if (node.id === 'b' || node.id === 'c') node.model = slowModel;
  const flow = await createFlow(target, fixture);
  target.mock.reset();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'fan-out' }, wait: true, timeoutMs: 30_000 });
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

/** A permanent provider error fails the node at once and the execution with it; nothing downstream runs. */
export async function failureScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'fails',
    nodes: [
      { id: 'a', type: 'llm', provider: 'openai', model: 'mock-400', prompt: 'Hello {{input.who}}' },
      { id: 'b', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'After {{a}}' },
    ],
    edges: [{ from: 'a', to: 'b' }],
  });
  target.mock.reset();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { who: 'world' }, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('failed');
  expect(res.body.error).toMatchObject({ code: 'llm_bad_request', category: 'permanent', nodeId: 'a' });
  const [a, b] = res.body.nodes;
  expect(a).toMatchObject({ nodeId: 'a', status: 'failed', attempts: 1 });
  expect(a.error.category).toBe('permanent');
  expect(b.status).toBe('pending');
  expect(target.mock.requests).toHaveLength(1);

  // A reference that cannot be resolved fails the node before any provider call.
  const missing = await call('POST', `/v1/flows/${flow.id}/executions`, { input: {}, wait: true });
  expect(missing.body.status).toBe('failed');
  expect(missing.body.error.code).toBe('template_missing_ref');
  expect(target.mock.requests).toHaveLength(1);
}

/** A 429 with Retry-After is retried and then succeeds: one completed node, attempts = 2. */
export async function retryScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'retries',
    nodes: [{ id: 'a', type: 'llm', provider: 'openai', model: 'mock-429', prompt: 'Retry me {{input.n}}', retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 50 } } }],
    edges: [],
  });
  target.mock.reset();
  const t0 = Date.now();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { n: Date.now() }, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('completed');
  expect(res.body.nodes[0]).toMatchObject({ status: 'completed', attempts: 2 });
  expect(target.mock.requests.map((r) => r.status)).toEqual([429, 200]);
  // Retry-After: 1 wins over the 50 ms backoff.
  expect(target.mock.requests[1]!.receivedAt - target.mock.requests[0]!.receivedAt).toBeGreaterThanOrEqual(950);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
}

/** Prices set through the admin route give exact per-node costs and totals; a passed budget stops further LLM nodes. */
export async function costAndBudgetScenario(target: Target, adminToken: string): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const model = `priced-${Date.now()}`;
  const priced = await apiClient(target.baseUrl)('PUT', `/v1/models/openai/${model}`, { inputPer1M: 2.5, outputPer1M: 5 }, { authorization: `Bearer ${adminToken}` });
  expect(priced.status, JSON.stringify(priced.body)).toBe(200);
  const models = await call('GET', '/v1/models');
  expect(models.body.find((m: any) => m.model === model)).toMatchObject({ provider: 'openai', inputPer1M: 2.5, outputPer1M: 5 });
  const flow = await createFlow(target, {
    name: 'priced',
    nodes: [
      { id: 'a', type: 'llm', provider: 'openai', model, prompt: 'Price {{input.x}} please' },
      { id: 'b', type: 'llm', provider: 'openai', model, prompt: 'And then {{a}}' },
    ],
    edges: [{ from: 'a', to: 'b' }],
  });
  // Workers see a newly priced model within a second (a miss reloads the price table).
  const res = await waitFor(async () => {
    const r = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'this' }, wait: true });
    return r.body.nodes?.every((n: any) => n.cost !== null) ? r : null;
  }, { timeoutMs: 10_000, intervalMs: 200, message: 'priced execution' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('completed');
  let total = 0;
  for (const node of res.body.nodes) {
    const expected = {
      inputCost: (node.usage.promptTokens * 2.5) / 1e6,
      outputCost: (node.usage.completionTokens * 5) / 1e6,
    };
    expect(node.cost.inputCost).toBeCloseTo(expected.inputCost, 12);
    expect(node.cost.outputCost).toBeCloseTo(expected.outputCost, 12);
    expect(node.cost.totalCost).toBeCloseTo(expected.inputCost + expected.outputCost, 12);
    total += node.cost.totalCost;
  }
  expect(res.body.cost.totalCost).toBeCloseTo(total, 12);

  // A budget smaller than node a's cost: a runs (nothing was spent before it), b never starts.
  target.mock.reset();
  const capped = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'this' }, wait: true, maxCostUsd: 0.000001 });
  expect(capped.status, JSON.stringify(capped.body)).toBe(200);
  expect(capped.body.status).toBe('failed');
  expect(capped.body.error).toMatchObject({ code: 'budget_exceeded', nodeId: 'b' });
  const [a, b] = capped.body.nodes;
  expect(a.status).toBe('completed');
  expect(b).toMatchObject({ status: 'failed', attempts: 1, usage: null });
  expect(target.mock.requests).toHaveLength(1);
  expect(capped.body.cost.totalCost).toBeCloseTo(a.cost.totalCost, 12);
}

/** The architecture's 3-node example across OpenAI, Anthropic and Gemini, each through its own SDK. */
export async function mixedProvidersScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  // OpenAI-style base URLs carry /v1; Anthropic's and Gemini's SDKs add their own paths.
  expect((await call('PUT', '/v1/credentials/anthropic', { apiKey: 'sk-ant-test', baseUrl: target.mock.url })).status).toBe(204);
  expect((await call('PUT', '/v1/credentials/gemini', { apiKey: 'gm-test-key', baseUrl: target.mock.url })).status).toBe(204);
  const flow = await createFlow(target, {
    name: 'research',
    nodes: [
      { id: 'research', type: 'llm', provider: 'openai', model: 'gpt-4o', prompt: 'What is {{input.topic}}?' },
      { id: 'summary', type: 'llm', provider: 'anthropic', model: 'claude-sonnet-4-5', system: 'Summarize this: {{research}}', prompt: 'Make it 3 sentences' },
      { id: 'actions', type: 'llm', provider: 'gemini', model: 'gemini-2.5-flash', prompt: 'Extract action items from: {{summary.output}}' },
    ],
    edges: [{ from: 'research', to: 'summary' }, { from: 'summary', to: 'actions' }],
  });
  const ws = await connectWs(wsUrl(target.baseUrl), { authorization: `Bearer ${target.apiKey}` });
  try {
    ws.send({ type: 'subscribe', flowId: flow.id });
    await ws.waitForMessage((m) => m.type === 'subscribed');
    target.mock.reset();
    const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'circuit breakers' }, wait: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('completed');
    expect(target.mock.requests.map((r) => r.provider)).toEqual(['openai', 'anthropic', 'gemini']);
    const [research, summary, actions] = res.body.nodes;
    expect([research.provider, summary.provider, actions.provider]).toEqual(['openai', 'anthropic', 'gemini']);
    // Each prompt carries the upstream answer verbatim, whatever the wire protocol.
    expect(JSON.stringify(target.mock.requests[1]!.messages)).toContain(JSON.stringify(research.output).slice(1, -1));
    expect(JSON.stringify(target.mock.requests[2]!.messages)).toContain(JSON.stringify(summary.output).slice(1, -1));
    for (const node of res.body.nodes) {
      expect(node.usage.promptTokens).toBeGreaterThan(0);
      expect(node.usage.totalTokens).toBe(node.usage.promptTokens + node.usage.completionTokens);
      const tokens = ws.messages.filter((m) => m.type === 'node.token' && m.executionId === res.body.id && m.nodeId === node.nodeId);
      expect(tokens.map((m) => (m.data as any).text).join('')).toBe(node.output);
    }
    expect(res.body.usage.totalTokens).toBe(res.body.nodes.reduce((n: number, x: any) => n + x.usage.totalTokens, 0));
  } finally {
    ws.close();
  }
}

/** 500 forever: the node fails after its configured attempts and lands in the dead-letter list. */
export async function deadLetterScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'always-500',
    nodes: [{ id: 'down', type: 'llm', provider: 'openai', model: 'mock-500', prompt: 'Fail {{input.n}}', retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } } }],
    edges: [],
  });
  target.mock.reset();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { n: Date.now() }, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('failed');
  expect(res.body.nodes[0]).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'llm_server_error', category: 'transient' } });
  expect(target.mock.requests.map((r) => r.status)).toEqual([500, 500]);
  const letters = await waitFor(async () => {
    const r = await call('GET', '/v1/dead-letters');
    return r.body.items?.find((l: any) => l.executionId === res.body.id);
  }, { timeoutMs: 5000, message: 'dead letter listed' });
  expect(letters).toMatchObject({ nodeId: 'down', attempts: 2, error: { code: 'llm_server_error', category: 'transient' } });
  expect(typeof letters.failedAt).toBe('string');
}

/** JSON mode parses the answer so `{{node.output.field}}` works downstream. */
export async function jsonModeScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'json',
    nodes: [
      { id: 'extract', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Facts about {{input.topic}} as JSON', responseFormat: 'json' },
      { id: 'use', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'The answer was: {{extract.output.answer}} from {{extract.output.model}}' },
    ],
    edges: [{ from: 'extract', to: 'use' }],
  });
  target.mock.reset();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'json' }, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('completed');
  const extract = res.body.nodes[0];
  expect(typeof extract.output).toBe('object');
  expect(extract.output.model).toBe('gpt-4o-mini');
  expect((target.mock.requests[0]!.body as any).response_format).toEqual({ type: 'json_object' });
  const prompt = (target.mock.requests[1]!.body as any).messages[0].content as string;
  expect(prompt).toBe(`The answer was: ${extract.output.answer as string} from gpt-4o-mini`);
}

/** A stream cut mid-answer: clients get node.retrying between the attempts' tokens, to discard the first. */
export async function streamRetryScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'cut',
    nodes: [{ id: 'cut', type: 'llm', provider: 'openai', model: 'mock-cut', prompt: 'A long enough answer for {{input.x}} to be streamed in several parts', retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 300 } } }],
    edges: [],
  });
  const ws = await connectWs(wsUrl(target.baseUrl), { authorization: `Bearer ${target.apiKey}` });
  try {
    ws.send({ type: 'subscribe', flowId: flow.id });
    await ws.waitForMessage((m) => m.type === 'subscribed');
    const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'cuts' }, wait: true });
    expect(res.body.status).toBe('failed');
    expect(res.body.nodes[0]).toMatchObject({ attempts: 2, error: { code: 'llm_connection', category: 'transient' } });
    await ws.waitForMessage((m) => m.type === 'execution.failed' && m.executionId === res.body.id);
    const events = ws.messages.filter((m) => m.executionId === res.body.id);
    const seq = events.map((m) => (m.type === 'node.token' ? `token:${(m.data as any).attempt as number}` : m.type as string));
    const retrying = seq.indexOf('node.retrying');
    expect(retrying).toBeGreaterThan(seq.indexOf('token:1'));
    expect(seq.slice(retrying).includes('token:1')).toBe(false);
    expect(seq.indexOf('token:2')).toBeGreaterThan(retrying);
    expect((events[retrying]!.data as any)).toMatchObject({ attempt: 1, nextAttempt: 2 });
  } finally {
    ws.close();
  }
}

/** An answer that is not JSON fails the attempt, is retried, and its billed tokens still count. */
export async function billedFailureScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'not-json',
    nodes: [{ id: 'j', type: 'llm', provider: 'openai', model: 'mock-notjson', prompt: 'JSON about {{input.x}}', responseFormat: 'json', retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } } }],
    edges: [],
  });
  target.mock.reset();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'bills' }, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('failed');
  const node = res.body.nodes[0];
  expect(node).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'llm_invalid_response', category: 'transient' } });
  // Both attempts were billed: the node's usage is their sum, and so is the execution's.
  const billed = target.mock.requests.map((r) => r.body as any);
  expect(billed).toHaveLength(2);
  const { countTokens } = await import('@weft/shared/mock-llm');
  const promptTokens = countTokens('JSON about bills');
  expect(node.usage.promptTokens).toBe(2 * promptTokens);
  expect(node.usage.completionTokens).toBeGreaterThan(0);
  expect(res.body.usage.totalTokens).toBe(node.usage.totalTokens);
}

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
  expect(replay.body).toEqual({ executionId, nodeId: 'flaky' });
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

/** Cancel during a slow LLM call: the call is aborted (the provider sees the connection close) and the execution ends within 2 s. */
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
    const t0 = Date.now();
    const res = await call('POST', `/v1/executions/${executionId}/cancel`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({ status: 'cancelled' });
    await ws.waitForMessage((m) => m.type === 'execution.cancelled' && m.executionId === executionId, 2000);
    // The provider call itself was aborted: the mock saw its client go away.
    await waitFor(() => target.mock.requests[0]?.aborted === true, { timeoutMs: 2000 - (Date.now() - t0), message: 'provider connection closed' });
    expect(Date.now() - t0).toBeLessThan(2000);
    const doc = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'cancelled' && r.body.nodes[0].status === 'failed' ? r.body : null;
    }, { timeoutMs: 5000, message: 'cancelled document' });
    expect(doc.nodes[0].error.code).toBe('node_cancelled');
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
    nodes: [{ id: 'slow', type: 'llm', provider: 'openai', model: 'mock-slow-800', prompt: 'Version one says {{input.x}}' }],
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
  const res = await call('POST', `/v1/flows/${timed.id}/executions`, { wait: true, timeoutMs: 10_000 });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('failed');
  expect(res.body.error).toMatchObject({ code: 'wait_timeout', nodeId: 'approve' });
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
  const t0 = Date.now();
  const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'b' }, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe('failed');
  expect(res.body.error).toMatchObject({ code: 'execution_timeout', category: 'permanent' });
  expect(Date.now() - t0).toBeLessThan(5000);
  // The running provider call was aborted, and nothing after it ran.
  await waitFor(() => target.mock.requests[0]?.aborted === true, { timeoutMs: 3000, message: 'slow call aborted' });
  const doc = await waitFor(async () => {
    const r = await call('GET', `/v1/executions/${res.body.id as string}`);
    return r.body.nodes?.[1]?.status === 'failed' ? r.body : null;
  }, { timeoutMs: 5000, message: 'aborted node recorded' });
  expect(doc.nodes.map((x: any) => x.status)).toEqual(['completed', 'failed', 'pending']);
  expect(doc.error).toMatchObject({ code: 'execution_timeout' });
}
