/**
 * End-to-end map scenarios, shared by the distributed and embedded suites: items run as node
 * jobs (LLM calls through the openai SDK to the mock provider), at most `concurrency` at once,
 * results in input order; item failures, retries and validation.
 */
import { expect } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { createFlow, readSse, type Target } from './scenarios.js';

type Ev = Record<string, any>;

async function runToEnd(target: Target, flowId: string, input: unknown): Promise<any> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const started = await call('POST', `/v1/flows/${flowId}/executions`, { input, wait: true, timeoutMs: 60_000 });
  expect([200, 202], JSON.stringify(started.body)).toContain(started.status);
  const executionId = (started.body.id ?? started.body.executionId) as string;
  return waitFor(async () => {
    const doc = (await call('GET', `/v1/executions/${executionId}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(doc.status as string) ? doc : null;
  }, { timeoutMs: 60_000, message: `execution ${executionId} finished` });
}

/**
 * 50 items, concurrency 5: each item asks the mock (slow enough that items overlap), then a
 * transform shapes the answer with the item's index and value. The mock never sees more than 5
 * calls at once, and the map's output lists the items in input order.
 */
export async function mapConcurrencyScenario(target: Target, options: { slowMs?: number } = {}): Promise<{ executionId: string }> {
  const items = Array.from({ length: 50 }, (_, i) => ({ name: `doc-${i}`, size: i * 3 }));
  const flow = await createFlow(target, {
    name: 'map-50',
    nodes: [
      { id: 'docs', type: 'transform', expression: 'input.items' },
      {
        id: 'each', type: 'map', items: '{{docs}}', concurrency: 5,
        graph: {
          nodes: [
            { id: 'ask', type: 'llm', provider: 'openai', model: `gpt-4o-mini/mock-slow-${options.slowMs ?? 200}`, stream: false, prompt: 'Item {{index}} of the list, named {{item.name}}, please summarise it in a line' },
            { id: 'shape', type: 'transform', expression: '{"i": index, "name": item.name, "answer": nodes.ask, "tag": nodes.docs[0].name}' },
          ],
          edges: [{ from: 'ask', to: 'shape' }],
        },
      },
      { id: 'count', type: 'transform', expression: '$count(nodes.each)' },
    ],
    edges: [{ from: 'docs', to: 'each' }, { from: 'each', to: 'count' }],
  });
  target.mock.reset();
  const doc = await runToEnd(target, flow.id as string, { items });
  expect(doc.status, JSON.stringify(doc.error)).toBe('completed');

  // At most 5 at once, and truly concurrent.
  expect(target.mock.requests).toHaveLength(50);
  expect(target.mock.maxActive).toBeLessThanOrEqual(5);
  expect(target.mock.maxActive).toBeGreaterThanOrEqual(2);

  const nodes = new Map<string, any>(doc.nodes.map((n: any) => [n.nodeId as string, n]));
  const each = nodes.get('each');
  expect(each.status).toBe('completed');
  const slots = each.output as Array<{ i: number; name: string; answer: string; tag: string }>;
  expect(slots).toHaveLength(50);
  slots.forEach((slot, i) => {
    expect(slot).toMatchObject({ i, name: `doc-${i}`, tag: 'doc-0' });
    expect(slot.answer).toContain(`Item ${i} of the list`);
  });
  expect(nodes.get('count').output).toBe(50);
  expect(doc.output).toEqual({ count: 50 });
  // Every item's nodes are listed under their runtime ids, with the LLM usage counted once.
  expect(nodes.get('each[49].ask')).toMatchObject({ status: 'completed', provider: 'openai' });
  expect(nodes.get('each[0].shape')).toMatchObject({ status: 'completed', output: slots[0] });
  const itemUsage = [...nodes.values()].filter((n) => /^each\[\d+\]\.ask$/.test(n.nodeId as string)).reduce((sum, n) => sum + (n.usage.totalTokens as number), 0);
  expect(doc.usage.totalTokens).toBe(itemUsage);
  expect(each.usage).toBeNull();

  // Events: the map starts before any item, each item node starts once, the map completes after them.
  const sse = await readSse(`${target.baseUrl}/v1/executions/${doc.id as string}/events`, { authorization: `Bearer ${target.apiKey}` });
  const events = sse.frames.map((f) => f.data as Ev);
  const types = events.map((e) => `${e.type as string}${e.nodeId ? `:${e.nodeId as string}` : ''}`);
  const at = (t: string): number => types.indexOf(t);
  expect(at('node.started:each')).toBeLessThan(at('node.started:each[0].ask'));
  expect(types.filter((t) => /^node\.started:each\[\d+\]\.ask$/.test(t))).toHaveLength(50);
  expect(at('node.completed:each')).toBeGreaterThan(at('node.completed:each[49].shape'));
  expect(at('node.started:count')).toBeGreaterThan(at('node.completed:each'));

  // A sub-graph node's history: its runs in every item, once Postgres has them.
  const call = apiClient(target.baseUrl, target.apiKey);
  const history = await waitFor(async () => {
    const r = await call('GET', `/v1/flows/${flow.id as string}/nodes/ask/runs?limit=100`);
    return r.status === 200 && r.body.items.length === 50 ? r.body.items : null;
  }, { timeoutMs: 10_000, message: 'item runs in the node history' });
  expect(history.map((run: any) => run.iteration).sort((a: number, b: number) => a - b)).toEqual(items.map((_item, i) => i));
  expect(history.every((run: any) => run.nodeId === `each[${run.iteration as number}].ask` && run.executionId === doc.id && run.status === 'completed')).toBe(true);
  expect((await call('GET', `/v1/flows/${flow.id as string}/nodes/nowhere/runs`)).status).toBe(404);
  return { executionId: doc.id as string };
}

/**
 * An item that fails: with onItemError "continue" its slot holds the error and the others go
 * on; by default it fails the map and the execution (the error names the map and the item).
 */
export async function mapItemErrorScenario(target: Target): Promise<void> {
  const flow = (onItemError?: string) => ({
    name: `map-errors-${onItemError ?? 'default'}`,
    nodes: [{
      id: 'double', type: 'map', items: 'input.values', concurrency: 2, ...(onItemError ? { onItemError } : {}),
      graph: { nodes: [{ id: 'twice', type: 'transform', expression: '$number(item) * 2' }], edges: [] },
    }],
    edges: [],
  });
  const keep = await createFlow(target, flow('continue'));
  const kept = await runToEnd(target, keep.id as string, { values: [1, '2', 'boom', 4] });
  expect(kept.status).toBe('completed');
  const slots = kept.nodes.find((n: any) => n.nodeId === 'double').output;
  expect(slots).toHaveLength(4);
  expect(slots[0]).toBe(2);
  expect(slots[1]).toBe(4);
  expect(slots[2].error).toMatchObject({ code: 'transform_failed', nodeId: 'double[2].twice' });
  expect(slots[3]).toBe(8);

  const strict = await createFlow(target, flow());
  const failed = await runToEnd(target, strict.id as string, { values: [1, 'boom', 3] });
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatchObject({ code: 'map_item_failed', nodeId: 'double' });
  expect(failed.error.message).toContain("item 1 failed at 'double[1].twice'");
  expect(failed.nodes.find((n: any) => n.nodeId === 'double[1].twice')).toMatchObject({ status: 'failed', error: { code: 'transform_failed' } });

  // A reference to what is not a list fails the map node itself (JSONata would make a lone
  // value a list of one).
  const byRef = await createFlow(target, { ...flow(), name: 'map-errors-ref', nodes: [{ ...flow().nodes[0], items: '{{input.values}}' }] });
  const notList = await runToEnd(target, byRef.id as string, { values: 'nope' });
  expect(notList.status).toBe('failed');
  expect(notList.error).toMatchObject({ code: 'map_items_invalid', nodeId: 'double' });
}

/**
 * A map where one item's LLM call fails (mock-429 refuses a prompt's first request; no retry)
 * fails the execution; a retry runs only that item again — the completed items' calls are not
 * paid twice — and the execution completes. The sub-graph branches: only the flaky item takes
 * the side that calls mock-429, and a join picks the side that ran.
 */
export async function mapRetryScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const run = Date.now().toString(36);
  const flow = await createFlow(target, {
    name: 'map-retry',
    nodes: [{
      id: 'm', type: 'map', items: '{{input.items}}', concurrency: 3,
      graph: {
        nodes: [
          { id: 'pick', type: 'condition', expression: 'item = "flaky"' },
          { id: 'risky', type: 'llm', provider: 'openai', model: 'mock-429', prompt: `Risky ${run} {{item}} {{index}}`, retry: { attempts: 1 } },
          { id: 'safe', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: `Safe ${run} {{item}} {{index}}` },
          { id: 'out', type: 'transform', expression: '{"item": item, "via": nodes.risky ? "risky" : "safe"}' },
        ],
        edges: [
          { from: 'pick', to: 'risky', when: true }, { from: 'pick', to: 'safe', when: false },
          { from: 'risky', to: 'out' }, { from: 'safe', to: 'out' },
        ],
      },
    }],
    edges: [],
  });
  target.mock.reset();
  const items = ['a', 'b', 'flaky', 'c', 'd'];
  const failed = await runToEnd(target, flow.id as string, { items });
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatchObject({ code: 'map_item_failed', nodeId: 'm' });
  const callsBefore = target.mock.requests.length;

  // Items still running when the map failed finish first: until then the api says to retry in a moment.
  const retry = await waitFor(async () => {
    const r = await call('POST', `/v1/executions/${failed.id as string}/retry`);
    return r.status === 409 && /still has nodes stopping/.test(JSON.stringify(r.body)) ? null : r;
  }, { timeoutMs: 15_000, intervalMs: 200, message: 'retry accepted once the running items stopped' });
  expect(retry.status, JSON.stringify(retry.body)).toBe(202);
  expect(retry.body.retried).toEqual(['m']);
  let last: any = null;
  const done = await waitFor(async () => {
    const doc = (await call('GET', `/v1/executions/${failed.id as string}`)).body;
    last = doc;
    return doc.status === 'completed' || doc.status === 'failed' ? doc : null;
  }, { timeoutMs: 30_000, message: 'retried execution finished' }).catch((err: unknown) => {
    const nodes = (last?.nodes ?? []).map((n: any) => `${n.nodeId}:${n.status}`).join(' ');
    throw new Error(`${err instanceof Error ? err.message : String(err)}; execution ${failed.id as string}; last document: ${last?.status} ${nodes}`);
  });
  expect(done.status, `execution ${failed.id as string}; ${JSON.stringify(done.error)}`).toBe('completed');
  expect(done.nodes.find((n: any) => n.nodeId === 'm').output).toEqual(items.map((item) => ({ item, via: item === 'flaky' ? 'risky' : 'safe' })));
  // Only the flaky item's call ran again (items stopped mid-way by the failure re-run theirs).
  const again = target.mock.requests.slice(callsBefore).map((r) => JSON.stringify((r.body as any)?.messages));
  expect(again.some((p) => p.includes(`Risky ${run} flaky`))).toBe(true);
  const safeBefore = target.mock.requests.slice(0, callsBefore).map((r) => JSON.stringify((r.body as any)?.messages)).filter((p) => p.includes(`Safe ${run}`));
  for (const prompt of again.filter((p) => p.includes(`Safe ${run}`))) expect(safeBefore).not.toContain(prompt);
  expect(done.nodes.find((n: any) => n.nodeId === 'm[2].safe')).toMatchObject({ status: 'skipped' });
}

/** Map flows are validated like top-level graphs: item/index only inside, refs checked both ways. */
export async function mapValidationScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const bad = await call('POST', '/v1/flows', {
    name: 'bad-map',
    nodes: [
      { id: 'm', type: 'map', items: '{{input.xs}}', graph: { nodes: [{ id: 'x', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: '{{ghost}} {{item}}' }], edges: [] } },
      { id: 'after', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: '{{item}} {{x}}' },
    ],
    edges: [{ from: 'm', to: 'after' }],
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('invalid_flow');
  const paths = (bad.body.error.details as Array<{ path: string; code: string }>).map((d) => `${d.path} ${d.code}`);
  expect(paths).toContain('/nodes/0/graph/nodes/0/prompt flow_invalid_ref');
  expect(paths).toContain('/nodes/1/prompt flow_invalid_ref');
  const listed = await call('GET', '/v1/flows');
  expect(listed.body.items.some((f: any) => f.name === 'bad-map')).toBe(false);
}

/**
 * A map's timeoutMs bounds the whole map: items still running then are aborted (the mock sees
 * their connections close), the others never start, and the map fails with node_timeout.
 */
export async function mapTimeoutScenario(target: Target): Promise<void> {
  const flow = await createFlow(target, {
    name: 'map-timeout',
    nodes: [{
      id: 'slow', type: 'map', items: '{{input.items}}', concurrency: 2, timeoutMs: 1500,
      graph: { nodes: [{ id: 'think', type: 'llm', provider: 'openai', model: 'gpt-4o-mini/mock-slow-20000', stream: false, prompt: 'Think long about {{item}}' }], edges: [] },
    }],
    edges: [],
  });
  target.mock.reset();
  const doc = await runToEnd(target, flow.id as string, { items: ['a', 'b', 'c', 'd'] });
  expect(doc.status).toBe('failed');
  expect(doc.error).toMatchObject({ code: 'node_timeout', nodeId: 'slow' });
  // Aborted, not answered after their 20 s: the map's timeout ended them.
  await waitFor(() => target.mock.requests.length === 2 && target.mock.requests.every((r) => r.aborted), { timeoutMs: 10_000, message: 'running item calls aborted' });
  // The aborted items commit after the execution ended, cut by their map's timeout: cancelled.
  const call = apiClient(target.baseUrl, target.apiKey);
  const statuses = await waitFor(async () => {
    const latest = (await call('GET', `/v1/executions/${doc.id as string}`)).body;
    const byId: Record<string, string> = Object.fromEntries(latest.nodes.map((n: any) => [n.nodeId as string, n.status as string]));
    // Both listed, and both ended: an item's abort is recorded once its own commit lands.
    const items = Object.entries(byId).filter(([id]) => id.startsWith('slow['));
    return items.length === 2 && items.every(([, status]) => !['queued', 'running', 'pending'].includes(status)) ? byId : null;
  }, { timeoutMs: 10_000, message: 'the aborted items recorded' });
  expect(statuses).toEqual({ slow: 'failed', 'slow[0].think': 'cancelled', 'slow[1].think': 'cancelled' });
}

/** Each item waits for its own approval, resumed through the api by its item node's id. */
export async function mapApprovalScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, {
    name: 'map-approvals',
    nodes: [{
      id: 'review', type: 'map', items: '{{input.drafts}}', concurrency: 3,
      graph: {
        nodes: [
          { id: 'approve', type: 'wait', event: 'approval' },
          { id: 'final', type: 'transform', expression: '{"draft": item, "ok": nodes.approve.ok}' },
        ],
        edges: [{ from: 'approve', to: 'final' }],
      },
    }],
    edges: [],
  });
  const drafts = ['first', 'second', 'third'];
  const start = await call('POST', `/v1/flows/${flow.id as string}/executions`, { input: { drafts } });
  const executionId = start.body.executionId as string;
  const ids = drafts.map((_draft, i) => `review[${i}].approve`);
  await waitFor(async () => {
    const doc = (await call('GET', `/v1/executions/${executionId}`)).body;
    const waiting = doc.nodes.filter((n: any) => ids.includes(n.nodeId as string) && n.status === 'waiting');
    return doc.status === 'waiting' && waiting.length === 3;
  }, { timeoutMs: 15_000, message: 'every item waiting for its approval' });
  expect((await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'review[0].final', data: {} })).status).toBe(409);
  for (const [i, nodeId] of ids.entries()) {
    const resumed = await call('POST', `/v1/executions/${executionId}/resume`, { nodeId, data: { ok: i !== 1 } });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(202);
  }
  const done = await waitFor(async () => {
    const doc = (await call('GET', `/v1/executions/${executionId}`)).body;
    return doc.status === 'completed' || doc.status === 'failed' ? doc : null;
  }, { timeoutMs: 15_000, message: 'approved map completed' });
  expect(done.status, JSON.stringify(done.error)).toBe('completed');
  expect(done.output).toEqual({ review: [{ draft: 'first', ok: true }, { draft: 'second', ok: false }, { draft: 'third', ok: true }] });
}
