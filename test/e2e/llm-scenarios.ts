/** End-to-end scenarios of LLM nodes: failures and retries, providers, money, streaming. */
import { expect } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWs } from '../helpers/ws-client.js';
import { createFlow, wsUrl, type Target } from './scenarios.js';

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
