/**
 * Eager dispatch under a kill: a worker runs a chain's nodes one after the other in one job (the
 * job of the chain's first node, their lease), or a fan-out's children side by side in it. It is killed (SIGKILL) while an eagerly run LLM node
 * waits on its provider call. The queue redelivers the first node's job to the surviving worker,
 * whose `readyAfter` with that job's id re-enqueues the leased node still open: the execution
 * completes, nothing is lost, and every node is committed exactly once.
 *
 * The workers reach the mock through a gate (test/helpers/gate.ts) held before the kill, so the
 * dead worker's call is provably in flight when it dies.
 */
import { describe, expect, it } from 'vitest';
import { executionKeys } from '../../shared/src/adapters/redis/keys.js';
import { apiClient } from '../helpers/http.js';
import { useGatedTwoWorkerStack } from '../helpers/gated-stack.js';
import { useMockCredentials } from '../helpers/targets.js';
import type { Redis } from 'ioredis';
import { waitFor } from '../helpers/wait-for.js';

type Call = ReturnType<typeof apiClient>;

/** The execution once it ended, completed or failed. */
function ended(call: Call, executionId: string, message: string): Promise<any> {
  return waitFor(async () => {
    const r = await call('GET', `/v1/executions/${executionId}`);
    return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
  }, { timeoutMs: 45_000, message });
}

/** The nodes of node.completed events in the execution's event stream, sorted: one per commit. */
async function completions(redis: Redis, eventsKey: string): Promise<Array<string | undefined>> {
  return (await redis.xrange(eventsKey, '-', '+'))
    .map(([, fields]) => JSON.parse(fields[1] ?? '{}') as { type: string; nodeId?: string })
    .filter((e) => e.type === 'node.completed')
    .map((e) => e.nodeId)
    .sort();
}

describe('a worker killed in the middle of an eagerly run chain', () => {
  const parts = useGatedTwoWorkerStack();

  it('runs the leased node again on the surviving worker; every node commits once', async () => {
    const { svc, stack, gate, redis } = parts();
    const apiKey = await stack.createWorkspace('killed-mid-chain');
    await useMockCredentials(stack.baseUrl, apiKey, gate);
    const call = apiClient(stack.baseUrl, apiKey);
    const flow = await call('POST', '/v1/flows', {
      name: 'killed-mid-chain',
      nodes: [
        { id: 'first', type: 'transform', expression: '{ "topic": input.topic }' },
        { id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', stream: false, prompt: 'Chain about {{first.output.topic}}' },
        { id: 'after', type: 'transform', expression: '$length(nodes.ask) > 0' },
        { id: 'last', type: 'transform', expression: '{ "ok": nodes.after }' },
      ],
      edges: [{ from: 'first', to: 'ask' }, { from: 'ask', to: 'after' }, { from: 'after', to: 'last' }],
    });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    gate.reset();
    gate.hold();
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { topic: 'leases' } });
    expect(start.status).toBe(202);
    const executionId = start.body.executionId as string;
    const keys = executionKeys(svc.prefix, executionId);

    // `ask` runs under the job of `first` (its lease), its call held at the gate.
    const runner = await waitFor(async () => {
      const raw = await redis.hget(keys.status, 'ask');
      const status = raw ? JSON.parse(raw) as { status: string; workerId: string | null } : null;
      return status?.status === 'running' && gate.waiting() === 1 ? status.workerId : null;
    }, { timeoutMs: 30_000, intervalMs: 5, message: 'ask running, its call held at the gate' });
    expect(await redis.hget(keys.leases, 'ask')).toBe(`${executionId}.first`);
    const victim = stack.workers.find((w) => w.id === runner);
    expect(victim).toBeDefined();
    await victim!.proc.stop('SIGKILL');
    await waitFor(() => gate.requests.some((r) => r.cut), { timeoutMs: 10_000, message: "the dead worker's call closed" });
    gate.open();

    const done = await ended(call, executionId, 'the chain completed after the kill');
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.nodes.find((n: any) => n.nodeId === 'last').output).toEqual({ ok: true });
    // Asked by the killed worker (cut) and once more by the survivor.
    expect(gate.requests.filter((r) => r.cut)).toHaveLength(1);
    expect(gate.requests).toHaveLength(2);
    // One commit per node: one node.completed each in the execution's event stream.
    expect(await completions(redis, keys.events)).toEqual(['after', 'ask', 'first', 'last']);
  }, 90_000);
});

describe('a worker killed while it runs a fan-out side by side', () => {
  const parts = useGatedTwoWorkerStack();

  it('runs the three leased children again on the surviving worker; every node commits once', async () => {
    const { svc, stack, gate, redis } = parts();
    const apiKey = await stack.createWorkspace('killed-mid-fan-out');
    await useMockCredentials(stack.baseUrl, apiKey, gate);
    const call = apiClient(stack.baseUrl, apiKey);
    const branches = ['a1', 'a2', 'a3'];
    const flow = await call('POST', '/v1/flows', {
      name: 'killed-mid-fan-out',
      nodes: [
        { id: 'first', type: 'transform', expression: '{ "topic": input.topic }' },
        ...branches.map((id) => ({ id, type: 'llm', provider: 'openai', model: 'gpt-4o-mini', stream: false, prompt: `${id} about {{first.output.topic}}` })),
        { id: 'join', type: 'transform', expression: '$count([nodes.a1, nodes.a2, nodes.a3])' },
      ],
      edges: branches.flatMap((id) => [{ from: 'first', to: id }, { from: id, to: 'join' }]),
    });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    gate.reset();
    gate.hold();
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { topic: 'lanes' } });
    expect(start.status).toBe(202);
    const executionId = start.body.executionId as string;
    const keys = executionKeys(svc.prefix, executionId);

    // WORKER_CONCURRENCY 3: the job of `first` runs all three children at once (its own slot and
    // two more), every one leased to it, their calls held at the gate.
    const runner = await waitFor(async () => {
      const statuses = await Promise.all(branches.map(async (id) => {
        const raw = await redis.hget(keys.status, id);
        return raw ? JSON.parse(raw) as { status: string; workerId: string | null } : null;
      }));
      const workers = new Set(statuses.map((s) => (s?.status === 'running' ? s.workerId : null)));
      return workers.size === 1 && !workers.has(null) && gate.waiting() === 3 ? [...workers][0] : null;
    }, { timeoutMs: 30_000, intervalMs: 5, message: 'the three children running on one worker, their calls held at the gate' });
    expect(await redis.hmget(keys.leases, ...branches)).toEqual(branches.map(() => `${executionId}.first`));
    const victim = stack.workers.find((w) => w.id === runner);
    expect(victim).toBeDefined();
    await victim!.proc.stop('SIGKILL');
    await waitFor(() => gate.requests.filter((r) => r.cut).length === 3, { timeoutMs: 10_000, message: "the dead worker's three calls closed" });
    gate.open();

    const done = await ended(call, executionId, 'the fan-out completed after the kill');
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.nodes.find((n: any) => n.nodeId === 'join').output).toBe(3);
    // Asked three times by the killed worker (cut) and three times by the survivor.
    expect(gate.requests).toHaveLength(6);
    expect(await completions(redis, keys.events)).toEqual(['a1', 'a2', 'a3', 'first', 'join']);
  }, 90_000);
});
