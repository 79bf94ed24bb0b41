/**
 * Single-node runs through the http api (api.md, `POST /v1/flows/:id/nodes/:nodeId/runs`):
 * the node's references come from the newest completed upstream runs of earlier executions.
 */
import { expect } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { createFlow, loadFixture, type Target } from './scenarios.js';

/** Runs the chain twice, then `summary` alone: its prompt carries the newest research output. */
export async function singleNodeRunScenario(target: Target): Promise<void> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await createFlow(target, loadFixture('chain'));

  const runs: Array<{ executionId: string; research: string }> = [];
  for (const topic of ['durable execution engines', 'single-node iteration']) {
    const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic }, wait: true, timeoutMs: 20_000 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('completed');
    const research = res.body.nodes.find((n: any) => n.nodeId === 'research').output as string;
    runs.push({ executionId: res.body.id, research });
  }
  const [first, second] = runs as [(typeof runs)[0], (typeof runs)[0]];
  expect(second.research).not.toBe(first.research);
  // Both chains' node runs reach Postgres (the flusher) before the single run reads them.
  await waitFor(async () => {
    const res = await call('GET', `/v1/flows/${flow.id}/nodes/summary/runs`);
    const research = await call('GET', `/v1/flows/${flow.id}/nodes/research/runs`);
    return res.body.items?.length === 2 && research.body.items?.length === 2 ? true : null;
  }, { timeoutMs: 15_000 });

  target.mock.reset();
  const single = await call('POST', `/v1/flows/${flow.id}/nodes/summary/runs`, { wait: true, timeoutMs: 20_000 });
  expect(single.status, JSON.stringify(single.body)).toBe(200);
  expect(single.body.status).toBe('completed');
  expect(single.body.nodes.map((n: any) => n.nodeId)).toEqual(['summary']);
  const summary = single.body.nodes[0];
  expect(summary.status).toBe('completed');
  expect(single.body.output).toEqual({ summary: summary.output });
  // The preset upstream results are inputs, not runs: the execution's usage is summary's alone.
  expect(single.body.usage.totalTokens).toBe(summary.usage.totalTokens);

  const prompts = target.mock.requests.map((r) => JSON.stringify((r.body as any).messages));
  expect(prompts).toHaveLength(1);
  expect(prompts[0]).toContain(JSON.stringify(second.research).slice(1, -1));
  expect(prompts[0]).not.toContain(JSON.stringify(first.research).slice(1, -1));

  // History: the single run and both chain runs of summary, newest first.
  const history = await waitFor(async () => {
    const res = await call('GET', `/v1/flows/${flow.id}/nodes/summary/runs?limit=10`);
    return res.status === 200 && res.body.items.length === 3 ? res.body.items : null;
  }, { timeoutMs: 15_000 });
  expect(history.map((r: any) => r.executionId)).toEqual([single.body.id, second.executionId, first.executionId]);
  for (const item of history) {
    expect(item).toMatchObject({ status: 'completed', attempts: 1, provider: 'openai', model: 'gpt-4o-mini', error: null });
    expect(item.usage.totalTokens).toBeGreaterThan(0);
    expect(typeof item.startedAt).toBe('string');
    expect(Date.parse(item.finishedAt)).toBeGreaterThanOrEqual(Date.parse(item.startedAt));
    expect(item.runtimeMs).toBeGreaterThanOrEqual(0);
  }
  const limited = await call('GET', `/v1/flows/${flow.id}/nodes/summary/runs?limit=1`);
  expect(limited.body.items.map((r: any) => r.executionId)).toEqual([single.body.id]);
  // The single run wrote no node run for the nodes it only read.
  const research = await call('GET', `/v1/flows/${flow.id}/nodes/research/runs`);
  expect(research.body.items.map((r: any) => r.executionId)).toEqual([second.executionId, first.executionId]);

  // A node whose upstream never completed cannot run alone.
  const fresh = await createFlow(target, loadFixture('chain'));
  const refused = await call('POST', `/v1/flows/${fresh.id}/nodes/actions/runs`, {});
  expect(refused.status, JSON.stringify(refused.body)).toBe(409);
  expect(refused.body.error.code).toBe('conflict');
  expect(refused.body.error.details).toEqual([{ path: '/nodes/summary', message: 'never completed' }]);

  expect((await call('POST', `/v1/flows/${fresh.id}/nodes/nope/runs`, {})).status).toBe(404);
  expect((await call('GET', `/v1/flows/${fresh.id}/nodes/nope/runs`)).status).toBe(404);
  expect((await call('GET', `/v1/flows/00000000-0000-4000-8000-000000000000/nodes/summary/runs`)).status).toBe(404);
  const empty = await call('GET', `/v1/flows/${fresh.id}/nodes/summary/runs`);
  expect(empty.body).toEqual({ items: [] });
}
