/**
 * Eager dispatch under a kill. A worker runs nodes it did not take off a queue: a chain's nodes
 * one after the other in one job (the job of the chain's first node, their lease), a fan-out's
 * children side by side in it, or an execution's first root under the execution job. It is
 * killed (SIGKILL) while such an LLM node waits on its provider call. The queue redelivers the
 * job to the surviving worker, which runs again what was open (`readyAfter` with the lease job's
 * id, or the root's own job enqueued by the redelivered execution job): the execution completes,
 * nothing is lost, and every node is committed exactly once.
 *
 * The workers reach the mock through a gate (test/helpers/gate.ts) held before the kill, so the
 * dead worker's calls are provably in flight when it dies.
 */
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { bullPrefix, executionKeys, type ExecutionKeys } from '../../shared/src/adapters/redis/keys.js';
import { apiClient } from '../helpers/http.js';
import { useGatedTwoWorkerStack, type GatedStack } from '../helpers/gated-stack.js';
import { useMockCredentials } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';

type Call = ReturnType<typeof apiClient>;

const llm = (id: string, prompt: string): Record<string, unknown> => ({ id, type: 'llm', provider: 'openai', model: 'gpt-4o-mini', stream: false, prompt });

/** Creates the flow in a new workspace and starts it with the gate held. */
async function startHeld(parts: GatedStack, name: string, flow: { nodes: unknown[]; edges: unknown[] }): Promise<{ call: Call; executionId: string; keys: ExecutionKeys }> {
  const { svc, stack, gate } = parts;
  const apiKey = await stack.createWorkspace(name);
  await useMockCredentials(stack.baseUrl, apiKey, gate);
  const call = apiClient(stack.baseUrl, apiKey);
  const created = await call('POST', '/v1/flows', { name, ...flow });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  gate.reset();
  gate.hold();
  const start = await call('POST', `/v1/flows/${created.body.id as string}/executions`, { input: { topic: name } });
  expect(start.status).toBe(202);
  const executionId = start.body.executionId as string;
  return { call, executionId, keys: executionKeys(svc.prefix, executionId) };
}

/** The worker all of `nodeIds` run on, once they all run there and `nodeIds.length` calls wait at the gate. */
function runnerOf(parts: GatedStack, keys: ExecutionKeys, nodeIds: readonly string[], message: string): Promise<string> {
  return waitFor(async () => {
    const statuses = await Promise.all(nodeIds.map(async (id) => {
      const raw = await parts.redis.hget(keys.status, id);
      return raw ? JSON.parse(raw) as { status: string; workerId: string | null } : null;
    }));
    const workers = new Set(statuses.map((s) => (s?.status === 'running' ? s.workerId : null)));
    const [only] = [...workers];
    return workers.size === 1 && typeof only === 'string' && parts.gate.waiting() === nodeIds.length ? only : null;
  }, { timeoutMs: 30_000, intervalMs: 5, message });
}

/** SIGKILLs the worker, waits until its `calls` held calls were cut, then opens the gate. */
async function kill(parts: GatedStack, workerId: string, calls: number): Promise<void> {
  const victim = parts.stack.workers.find((w) => w.id === workerId);
  expect(victim).toBeDefined();
  await victim!.proc.stop('SIGKILL');
  await waitFor(() => parts.gate.requests.filter((r) => r.cut).length === calls, { timeoutMs: 10_000, message: `the dead worker's ${calls} call(s) closed` });
  parts.gate.open();
}

/** The execution once it ended, completed or failed. */
function ended(call: Call, executionId: string): Promise<any> {
  return waitFor(async () => {
    const r = await call('GET', `/v1/executions/${executionId}`);
    return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
  }, { timeoutMs: 45_000, message: 'the execution ended after the kill' });
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
    const { call, executionId, keys } = await startHeld(parts(), 'killed-mid-chain', {
      nodes: [
        { id: 'first', type: 'transform', expression: '{ "topic": input.topic }' },
        llm('ask', 'Chain about {{first.output.topic}}'),
        { id: 'after', type: 'transform', expression: '$length(nodes.ask) > 0' },
        { id: 'last', type: 'transform', expression: '{ "ok": nodes.after }' },
      ],
      edges: [{ from: 'first', to: 'ask' }, { from: 'ask', to: 'after' }, { from: 'after', to: 'last' }],
    });
    // `ask` runs under the job of `first` (its lease), its call held at the gate.
    const runner = await runnerOf(parts(), keys, ['ask'], 'ask running, its call held at the gate');
    expect(await parts().redis.hget(keys.leases, 'ask')).toBe(`${executionId}.first`);
    await kill(parts(), runner, 1);

    const done = await ended(call, executionId);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.nodes.find((n: any) => n.nodeId === 'last').output).toEqual({ ok: true });
    // Asked by the killed worker (cut) and once more by the survivor.
    expect(parts().gate.requests).toHaveLength(2);
    expect(await completions(parts().redis, keys.events)).toEqual(['after', 'ask', 'first', 'last']);
  }, 90_000);
});

describe('a worker killed while it runs a fan-out side by side', () => {
  const parts = useGatedTwoWorkerStack();

  it('runs the three leased children again on the surviving worker; every node commits once', async () => {
    const branches = ['a1', 'a2', 'a3'];
    const { call, executionId, keys } = await startHeld(parts(), 'killed-mid-fan-out', {
      nodes: [
        { id: 'first', type: 'transform', expression: '{ "topic": input.topic }' },
        ...branches.map((id) => llm(id, `${id} about {{first.output.topic}}`)),
        { id: 'join', type: 'transform', expression: '$count([nodes.a1, nodes.a2, nodes.a3])' },
      ],
      edges: branches.flatMap((id) => [{ from: 'first', to: id }, { from: id, to: 'join' }]),
    });
    // WORKER_CONCURRENCY 3: the job of `first` runs all three children at once (its own slot and
    // two more), every one leased to it, their calls held at the gate.
    const runner = await runnerOf(parts(), keys, branches, 'the three children running on one worker, their calls held at the gate');
    expect(await parts().redis.hmget(keys.leases, ...branches)).toEqual(branches.map(() => `${executionId}.first`));
    await kill(parts(), runner, 3);

    const done = await ended(call, executionId);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.nodes.find((n: any) => n.nodeId === 'join').output).toBe(3);
    // Asked three times by the killed worker (cut) and three times by the survivor.
    expect(parts().gate.requests).toHaveLength(6);
    expect(await completions(parts().redis, keys.events)).toEqual(['a1', 'a2', 'a3', 'first', 'join']);
  }, 90_000);
});

describe('a worker killed while its execution job runs the root', () => {
  const parts = useGatedTwoWorkerStack();

  it('runs the root under the execution job, and again on the surviving worker once that job is redelivered; every node commits once', async () => {
    const { call, executionId, keys } = await startHeld(parts(), 'killed-mid-root', {
      nodes: [llm('ask', 'Root about {{input.topic}}'), { id: 'after', type: 'transform', expression: '$length(nodes.ask) > 0' }],
      edges: [{ from: 'ask', to: 'after' }],
    });
    const runner = await runnerOf(parts(), keys, ['ask'], 'the root running, its call held at the gate');
    // It runs under the execution job: the queue never held a job of its own for it.
    expect(await parts().redis.exists(`${bullPrefix(parts().svc.prefix)}:weft-nodes-llm:${executionId}.ask`)).toBe(0);
    await kill(parts(), runner, 1);

    const done = await ended(call, executionId);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.nodes.find((n: any) => n.nodeId === 'after').output).toBe(true);
    expect(parts().gate.requests).toHaveLength(2);
    expect(await completions(parts().redis, keys.events)).toEqual(['after', 'ask']);
  }, 90_000);
});
