/**
 * Money that is honest, end to end on real processes (an api and a worker on Redis and Postgres),
 * LLM nodes through the official openai and anthropic SDKs to the mock provider:
 * - the `model` label of the LLM metrics is the price-table row or `other`, whatever names flows use;
 * - dated and `-latest` names are priced as their row; a model without a price is marked
 *   `unpriced` on the node, in the execution totals, in `node.completed` and in the metrics;
 * - a start with `maxCostUsd` that would run an unpriced model answers 400 `budget_unpriced_model`
 *   naming the node, unless the workspace set a fallback price, which then prices it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { apiClient } from '../helpers/http.js';
import { startDistributedStack, STACK_START_MS, type DistributedStack } from '../helpers/stack.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { allowLoopbackProviders, SCENARIO_BREAKER } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';
import { readSse } from './scenarios.js';

/** A 100-node execution on one worker: seconds when idle, bounded generously for a loaded 2-core machine. */
const RUN_MS = 120_000;

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The series of a Prometheus text exposition whose name starts with `prefix`. */
function seriesOf(text: string, prefix: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

describe('money that is honest (distributed: api + worker, mock provider through the official SDKs)', () => {
  let svc: TestServices;
  let mock: MockLlm;
  let stack: DistributedStack;
  let apiKey: string;
  let call: ReturnType<typeof apiClient>;
  let metricsUrl: string;

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    stack = await startDistributedStack({ ...svc, workers: ['w1'], env: { WORKER_CONCURRENCY: '20', ...SCENARIO_BREAKER } });
    apiKey = await stack.createWorkspace('money');
    call = apiClient(stack.baseUrl, apiKey);
    // OpenAI-style base URLs carry /v1; Anthropic's SDK adds its own path.
    // The mock listens on loopback: the workspace must allow private networks (the egress wall).
    await allowLoopbackProviders(stack.baseUrl, apiKey);
    expect((await call('PUT', '/v1/credentials/openai', { apiKey: 'sk-test-money', baseUrl: `${mock.url}/v1` })).status).toBe(204);
    expect((await call('PUT', '/v1/credentials/anthropic', { apiKey: 'sk-ant-test-money', baseUrl: mock.url })).status).toBe(204);
    metricsUrl = `http://127.0.0.1:${stack.workers[0]!.port}/metrics`;
  }, STACK_START_MS);

  afterAll(async () => {
    await stack?.stop();
    await mock?.close();
    await svc?.cleanup();
  });

  async function createFlow(flow: unknown): Promise<{ id: string }> {
    const res = await call('POST', '/v1/flows', flow);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  async function workerMetrics(): Promise<string> {
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    return res.text();
  }

  it('gives 100 distinct model names one `other` series, prices aliases as their row, and marks the unpriced everywhere', async () => {
    const run = Date.now().toString(36);
    const nodes: unknown[] = Array.from({ length: 100 }, (_, i) => ({ id: `n${i}`, type: 'llm', provider: 'openai', model: `tenant-model-${run}-${i}`, prompt: `Say {{input.word}} ${i}` }));
    nodes.push(
      { id: 'dated', type: 'llm', provider: 'openai', model: 'gpt-4o-2024-08-06', prompt: 'Dated {{input.word}}' },
      { id: 'latest', type: 'llm', provider: 'anthropic', model: 'claude-3-5-haiku-latest', prompt: 'Latest {{input.word}}' },
      { id: 'snapshot', type: 'llm', provider: 'anthropic', model: 'claude-3-5-haiku-20241022', prompt: 'Snapshot {{input.word}}' },
      { id: 'tuned', type: 'llm', provider: 'openai', model: 'ft:gpt-4o-mini:acme::abc123', prompt: 'Tuned {{input.word}}' },
    );
    const flow = await createFlow({ name: 'many models', nodes, edges: [] });
    const before = await workerMetrics();
    const unpricedBefore = seriesOf(before, 'weft_llm_unpriced_tokens_total').filter((s) => s.labels.pricing === 'unpriced').reduce((sum, s) => sum + s.value, 0);

    const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { word: 'hello' }, wait: true, timeoutMs: RUN_MS });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.status).toBe('completed');
    const byId = new Map<string, any>(res.body.nodes.map((n: any) => [n.nodeId, n]));

    // Aliases are priced as their row, and say which.
    expect(byId.get('dated')).toMatchObject({ model: 'gpt-4o-2024-08-06', pricing: 'priced', pricedAs: 'gpt-4o' });
    expect(byId.get('latest')).toMatchObject({ model: 'claude-3-5-haiku-latest', pricing: 'priced', pricedAs: 'claude-3-5-haiku' });
    expect(byId.get('snapshot')).toMatchObject({ pricing: 'priced', pricedAs: 'claude-3-5-haiku' });
    const haiku = byId.get('latest');
    expect(haiku.cost.inputCost).toBeCloseTo((haiku.usage.promptTokens * 0.8) / 1e6, 12);
    expect(haiku.cost.outputCost).toBeCloseTo((haiku.usage.completionTokens * 4) / 1e6, 12);
    // A fine-tune is not its base model: unpriced, visibly.
    expect(byId.get('tuned')).toMatchObject({ pricing: 'unpriced', pricedAs: null, cost: null });
    expect(byId.get('tuned').usage.totalTokens).toBeGreaterThan(0);
    const unpriced = [...byId.values()].filter((n) => n.pricing === 'unpriced');
    expect(unpriced).toHaveLength(101);
    const unpricedTokens = unpriced.reduce((sum, n) => sum + n.usage.totalTokens, 0);
    expect(res.body).toMatchObject({ pricing: 'unpriced', unpricedTokens });
    // The cost total counts the priced nodes only.
    const pricedCost = ['dated', 'latest', 'snapshot'].reduce((sum, id) => sum + byId.get(id).cost.totalCost, 0);
    expect(res.body.cost.totalCost).toBeCloseTo(pricedCost, 9);

    // Postgres holds the same marks once the flusher finalized the execution.
    const listed = await waitFor(async () => {
      const page = await call('GET', `/v1/executions?flowId=${flow.id}`);
      const item = page.body.items?.[0];
      return item?.status === 'completed' && item.pricing !== null ? item : null;
    }, { timeoutMs: 30_000, intervalMs: 100, message: 'finalized execution row' });
    expect(listed).toMatchObject({ pricing: 'unpriced', unpricedTokens });
    const stored = await call('GET', `/v1/executions/${res.body.id}`);
    expect(stored.body.nodes.find((n: any) => n.nodeId === 'tuned')).toMatchObject({ pricing: 'unpriced', cost: null });
    expect(stored.body.nodes.find((n: any) => n.nodeId === 'dated')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-4o' });

    // node.completed carries the mark (replayed over SSE).
    const sse = await readSse(`${stack.baseUrl}/v1/executions/${res.body.id}/events`, { authorization: `Bearer ${apiKey}` });
    const completed = new Map(sse.frames.filter((f) => f.event === 'node.completed').map((f) => [f.data.nodeId as string, f.data.data]));
    expect(completed.get('tuned')).toMatchObject({ cost: null, pricing: 'unpriced', pricedAs: null, model: 'ft:gpt-4o-mini:acme::abc123' });
    expect(completed.get('latest')).toMatchObject({ pricing: 'priced', pricedAs: 'claude-3-5-haiku' });

    // The metrics: whatever names the flow used, the model label is a price row or `other`.
    const after = await workerMetrics();
    const labelled = ['weft_llm_tokens_total', 'weft_llm_cost_usd_total', 'weft_llm_request_duration_seconds'].flatMap((name) => seriesOf(after, name));
    const models = new Set(labelled.map((s) => s.labels.model));
    expect([...models].sort()).toEqual(['claude-3-5-haiku', 'gpt-4o', 'other']);
    expect(after).not.toContain(`tenant-model-${run}`);
    expect(after).not.toContain('ft:gpt-4o-mini');
    // 3 models × 4 token kinds; before the fix, 104 models made 416 token series alone.
    expect(seriesOf(after, 'weft_llm_tokens_total')).toHaveLength(12);
    // Unpriced usage is counted, with bounded labels.
    const unpricedSeries = seriesOf(after, 'weft_llm_unpriced_tokens_total').filter((s) => s.labels.pricing === 'unpriced');
    const counted = unpricedSeries.reduce((sum, s) => sum + s.value, 0) - unpricedBefore;
    // Summed over the kinds (prompt + completion + reasoning + cached): at least every total token.
    expect(counted).toBeGreaterThanOrEqual(unpricedTokens);
    expect(new Set(unpricedSeries.map((s) => s.labels.kind))).toEqual(new Set(['prompt', 'completion', 'reasoning', 'cached']));
  }, RUN_MS + 60_000);

  it('refuses maxCostUsd on a flow with an unpriced model (400 budget_unpriced_model, naming the nodes), and admits priced aliases', async () => {
    const flow = await createFlow({
      name: 'budgeted',
      nodes: [
        { id: 'priced', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Hi {{input.x}}' },
        { id: 'tuned', type: 'llm', provider: 'openai', model: 'ft:gpt-4o-mini:acme::abc123', prompt: 'Hi {{priced}}' },
        { id: 'shaped', type: 'transform', expression: '$string(input.x)' },
        {
          id: 'each', type: 'map', items: '{{input.list}}',
          graph: { nodes: [{ id: 'ask', type: 'llm', provider: 'anthropic', model: 'claude-3-5-haiku-latest', prompt: 'Item {{item}}' }, { id: 'odd', type: 'llm', provider: 'gemini', model: 'gemini-9-ultra', prompt: 'Item {{ask}}' }], edges: [{ from: 'ask', to: 'odd' }] },
        },
        { id: 'templated', type: 'llm', provider: 'openai', model: '{{input.model}}', prompt: 'Hi' },
      ],
      edges: [{ from: 'priced', to: 'tuned' }],
    });
    const before = (await call('GET', `/v1/executions?flowId=${flow.id}`)).body.items.length;
    const refused = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 1, list: [1] }, maxCostUsd: 1 });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error.code).toBe('budget_unpriced_model');
    expect(refused.body.error.message).toContain("'tuned'");
    const details = refused.body.error.details as Array<{ path: string; message: string; code: string }>;
    expect(details.map((d) => d.path)).toEqual(['/nodes/1/model', '/nodes/3/graph/nodes/1/model', '/nodes/4/model']);
    expect(details.every((d) => d.code === 'budget_unpriced_model')).toBe(true);
    expect(details[0]!.message).toContain("node 'tuned'");
    expect(details[1]!.message).toContain("node 'odd'");
    expect(details[2]!.message).toContain('template');
    // Nothing was recorded, nothing ran.
    expect((await call('GET', `/v1/executions?flowId=${flow.id}`)).body.items).toHaveLength(before);

    // Without a budget the same flow runs (its unpriced nodes are marked, not refused).
    const unbudgeted = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 1, list: [] }, wait: true, timeoutMs: RUN_MS });
    expect(unbudgeted.status, JSON.stringify(unbudgeted.body)).toBe(200);
    expect(unbudgeted.body).toMatchObject({ status: 'completed', pricing: 'unpriced' });

    // Priced models and their aliases keep a budget.
    const ok = await createFlow({
      name: 'budgeted, priced',
      nodes: [
        { id: 'a', type: 'llm', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', prompt: 'Hi {{input.x}}' },
        { id: 'b', type: 'llm', provider: 'anthropic', model: 'claude-3-5-haiku-latest', prompt: 'Hi {{a}}' },
      ],
      edges: [{ from: 'a', to: 'b' }],
    });
    const done = await call('POST', `/v1/flows/${ok.id}/executions`, { input: { x: 1 }, maxCostUsd: 1, wait: true, timeoutMs: RUN_MS });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ status: 'completed', pricing: 'priced', unpricedTokens: 0 });
    expect(done.body.cost.totalCost).toBeGreaterThan(0);
  }, RUN_MS + 30_000);

  it('a workspace fallback price admits the budget, prices the unpriced model with it, marked fallback, and the budget holds', async () => {
    const flow = await createFlow({
      name: 'fallback',
      nodes: [
        { id: 'a', type: 'llm', provider: 'openai', model: 'ft:gpt-4o-mini:acme::fallback', prompt: 'First {{input.x}}' },
        { id: 'b', type: 'llm', provider: 'openai', model: 'ft:gpt-4o-mini:acme::fallback', prompt: 'Then {{a}}' },
      ],
      edges: [{ from: 'a', to: 'b' }],
    });
    expect((await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 1 }, maxCostUsd: 1 })).body.error.code).toBe('budget_unpriced_model');

    const patched = await call('PATCH', '/v1/workspace', { fallbackPrice: { inputPer1M: 3, outputPer1M: 12 } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.fallbackPrice).toEqual({ inputPer1M: 3, outputPer1M: 12, reasoningPer1M: 12, cachedPer1M: 3 });
    const fallbackBefore = seriesOf(await workerMetrics(), 'weft_llm_unpriced_tokens_total').filter((s) => s.labels.pricing === 'fallback').reduce((sum, s) => sum + s.value, 0);

    const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 1 }, maxCostUsd: 1, wait: true, timeoutMs: RUN_MS });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'completed', pricing: 'fallback', unpricedTokens: 0 });
    for (const node of res.body.nodes) {
      expect(node).toMatchObject({ pricing: 'fallback', pricedAs: null });
      expect(node.cost.inputCost).toBeCloseTo((node.usage.promptTokens * 3) / 1e6, 12);
      expect(node.cost.outputCost).toBeCloseTo((node.usage.completionTokens * 12) / 1e6, 12);
    }
    const fallbackAfter = seriesOf(await workerMetrics(), 'weft_llm_unpriced_tokens_total').filter((s) => s.labels.pricing === 'fallback').reduce((sum, s) => sum + s.value, 0);
    expect(fallbackAfter - fallbackBefore).toBeGreaterThanOrEqual(res.body.usage.totalTokens);

    // The fallback-priced cost counts against the budget: a budget below a's cost stops b.
    mock.reset();
    const capped = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 1 }, maxCostUsd: 0.000001, wait: true, timeoutMs: RUN_MS });
    expect(capped.body.status).toBe('failed');
    expect(capped.body.error).toMatchObject({ code: 'budget_exceeded', nodeId: 'b' });
    expect(mock.requests).toHaveLength(1);

    // An execution admitted while the fallback stood, whose LLM node runs after it was cleared:
    // the node does not run unmetered, it fails budget_unpriced_model before any call.
    const gated = await createFlow({
      name: 'fallback cleared mid-run',
      nodes: [
        { id: 'approve', type: 'wait', event: 'approval' },
        { id: 'ask', type: 'llm', provider: 'openai', model: 'ft:gpt-4o-mini:acme::fallback', prompt: 'After {{approve}}' },
      ],
      edges: [{ from: 'approve', to: 'ask' }],
    });
    const admitted = await call('POST', `/v1/flows/${gated.id}/executions`, { input: {}, maxCostUsd: 1 });
    expect(admitted.status, JSON.stringify(admitted.body)).toBe(202);
    const executionId = admitted.body.executionId as string;
    await waitFor(async () => (await call('GET', `/v1/executions/${executionId}`)).body.status === 'waiting', { timeoutMs: 30_000, intervalMs: 50, message: 'waiting for approval' });

    // Cleared, the model is unpriced again and the budget refused.
    expect((await call('PATCH', '/v1/workspace', { fallbackPrice: null })).body.fallbackPrice).toBeNull();
    expect((await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 1 }, maxCostUsd: 1 })).body.error.code).toBe('budget_unpriced_model');

    mock.reset();
    expect((await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'approve', data: 'yes' })).status).toBe(202);
    const ended = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'failed' ? r.body : null;
    }, { timeoutMs: 30_000, intervalMs: 50, message: 'gated execution failed' });
    expect(ended.error).toMatchObject({ code: 'budget_unpriced_model', nodeId: 'ask' });
    expect(ended.nodes.find((n: any) => n.nodeId === 'ask')).toMatchObject({ status: 'failed', attempts: 1, usage: null, cost: null });
    expect(mock.requests).toHaveLength(0);
  }, 2 * RUN_MS + 30_000);
});
