/**
 * A worker is killed (SIGKILL) while a map's items run on both workers: its in-flight item jobs
 * stall, the other worker takes them over once their locks lapse, and the map completes with
 * every item, in input order. At most the items in flight on the dead worker are asked twice.
 *
 * The workers reach the mock through a gate (test/helpers/gate.ts) that the test holds before
 * the kill, so the dead worker's call is provably in flight when it dies, however slow the
 * machine: it cannot have finished in between.
 */
import { describe, expect, it } from 'vitest';
import { executionKeys } from '../../shared/src/adapters/redis/keys.js';
import { apiClient } from '../helpers/http.js';
import { useGatedTwoWorkerStack } from '../helpers/gated-stack.js';
import { useMockCredentials } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';

describe('a worker killed in the middle of a map', () => {
  const parts = useGatedTwoWorkerStack();

  it('completes every item, in order, on the surviving worker', async () => {
    const { svc, stack, mock, gate, redis } = parts();
    const apiKey = await stack.createWorkspace('killed-mid-map');
    await useMockCredentials(stack.baseUrl, apiKey, gate);
    const call = apiClient(stack.baseUrl, apiKey);
    const items = Array.from({ length: 16 }, (_, i) => `thing-${i}`);
    const flow = await call('POST', '/v1/flows', {
      name: 'killed-mid-map',
      nodes: [{
        id: 'each', type: 'map', items: '{{input.items}}', concurrency: 4,
        graph: { nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini/mock-slow-500', stream: false, prompt: 'Item {{index}} is {{item}}, describe it well in two careful sentences please' }], edges: [] },
      }],
      edges: [],
    });
    expect(flow.status).toBe(201);
    mock.reset();
    gate.reset();
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { items } });
    const executionId = start.body.executionId as string;

    // Some items are done; then the gate holds every new call, until w1 is running an item
    // (hot state says who runs what) and every running item's call waits at the gate. Then w1
    // dies without a goodbye, its call still open.
    await waitFor(() => gate.requests.length >= 6, { timeoutMs: 30_000, intervalMs: 5, message: 'six items asked' });
    gate.hold();
    const statusKey = executionKeys(svc.prefix, executionId).status;
    await waitFor(async () => {
      const entries = Object.entries(await redis.hgetall(statusKey))
        .filter(([id]) => id.startsWith('each['))
        .map(([, json]) => JSON.parse(json) as { status: string; workerId: string | null });
      const running = entries.filter((e) => e.status === 'running');
      return running.some((e) => e.workerId === 'w1') && gate.waiting() === running.length;
    }, { timeoutMs: 30_000, intervalMs: 5, message: 'w1 running an item, its call held at the gate' });
    await stack.workers.find((w) => w.id === 'w1')!.proc.stop('SIGKILL');
    await waitFor(() => gate.requests.some((r) => r.cut), { timeoutMs: 10_000, message: "the dead worker's call closed" });
    gate.open();

    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
    }, { timeoutMs: 45_000, message: 'map completed after the kill' });
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    const slots = done.nodes.find((n: any) => n.nodeId === 'each').output as string[];
    expect(slots).toHaveLength(16);
    slots.forEach((answer, i) => { expect(answer).toContain(`Item ${i} is thing-${i}`); });
    // The dead worker's calls were cut (the provider side saw them close) and asked again elsewhere.
    const cut = gate.requests.filter((r) => r.cut).length;
    expect(cut).toBeGreaterThanOrEqual(1);
    expect(gate.requests.length).toBeGreaterThanOrEqual(16 + cut);
    expect(gate.requests.length).toBeLessThanOrEqual(16 + 4);
    const lastRuns = done.nodes.filter((n: any) => /^each\[\d+\]\.ask$/.test(n.nodeId as string));
    expect(lastRuns).toHaveLength(16);
  }, 90_000);
});
