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
