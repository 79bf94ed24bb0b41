/**
 * A Postgres outage delays flushing; it does not stop execution and loses nothing
 * (architecture.md, lifecycle step 4). The api and a worker run on a Postgres of this test's
 * own, which is stopped while an execution is in flight and started again afterwards. The
 * worker reaches the mock through a gate that holds node a's call until Postgres is down, so the
 * call is provably in flight across the stop.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { startGate, type Gate } from '../helpers/gate.js';
import { apiClient } from '../helpers/http.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-services.js';
import type { WeftProcess } from '../helpers/processes.js';
import { startDistributedStack, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { uniqueId } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWs, type RecordedSocket } from '../helpers/ws-client.js';
import { createFlow, wsUrl, type Target } from '../e2e/scenarios.js';


describe('Postgres outage during an execution', () => {
  let postgres: PrivatePostgres;
  let mock: MockLlm;
  let gate: Gate;
  let stack: DistributedStack;
  let procs: WeftProcess[] = [];
  let target: Target;
  let prefix: string;
  let redis: Redis;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    gate = await startGate(mock.url);
    prefix = `wt${uniqueId()}`;
    // Building 3 MB in JSONata (the claim-check case) must not fail for time on a loaded machine.
    stack = await startDistributedStack({
      redisUrl: inject('redisUrl'), databaseUrl: postgres.url, prefix, workers: ['w-outage'], env: { WEFT_EXPRESSION_TIMEOUT_MS: '60000' },
    });
    redis = new Redis(inject('redisUrl'));
    procs = stack.procs;
    const apiKey = await stack.createWorkspace('outage');
    const call = apiClient(stack.baseUrl, apiKey);
    // The mock listens on loopback: provider calls reach it only where the workspace allows private networks.
    expect((await call('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
    expect((await call('PUT', '/v1/credentials/openai', { apiKey: 'sk-outage', baseUrl: `${gate.url}/v1` })).status).toBe(204);
    target = { baseUrl: stack.baseUrl, apiKey, mock, gate };
  }, STACK_START_MS);

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await gate?.close();
    await mock?.close();
    postgres?.destroy();
  });

  /**
   * Subscribes to the flow's events and starts an execution of it (`input.x` = 'outage'); answers
   * once node a's provider call, whose body holds `marker`, is held at the gate.
   */
  async function startHeld(flowId: string, marker: string): Promise<{ ws: RecordedSocket; executionId: string }> {
    const ws = await connectWs(wsUrl(target.baseUrl), { authorization: `Bearer ${target.apiKey}` });
    ws.send({ type: 'subscribe', flowId });
    await ws.waitForMessage((m) => m.type === 'subscribed');
    gate.hold((body) => body.includes(marker));
    const start = await apiClient(target.baseUrl, target.apiKey)('POST', `/v1/flows/${flowId}/executions`, { input: { x: 'outage' } });
    expect(start.status).toBe(202);
    await waitFor(() => gate.waiting() === 1, { timeoutMs: 30_000, message: 'node a calling the provider' });
    return { ws, executionId: start.body.executionId as string };
  }

  it('keeps executing while Postgres is down, answers 503 meanwhile, and flushes everything once it is back', async () => {
    const call = apiClient(target.baseUrl, target.apiKey);
    const flow = await createFlow(target, {
      name: 'outage',
      nodes: [
        // Not streamed: the mock waits its 1.5 s once, not before every chunk (the gate holds the call).
        { id: 'a', type: 'llm', provider: 'openai', model: 'mock-slow-1500', stream: false, prompt: 'First {{input.x}}' },
        { id: 'b', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Then {{a}}' },
        { id: 'c', type: 'transform', expression: '$length(nodes.b)' },
      ],
      edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
    });
    // Postgres stops while node a's provider call is in flight (held at the gate until then).
    const { ws, executionId } = await startHeld(flow.id as string, 'First outage');
    try {
      await ws.waitForMessage((m) => m.type === 'node.started' && m.nodeId === 'a');

      postgres.stop();
      gate.open();
      try {
        // Reads that need Postgres answer 503 with Retry-After, never 500.
        const during = await call('GET', `/v1/executions/${executionId}`);
        expect(during.status).toBe(503);
        expect(during.body.error.code).toBe('dependency_unavailable');
        expect(during.headers.get('retry-after')).not.toBeNull();
        // The execution runs to its end on hot state alone.
        await ws.waitForMessage((m) => m.type === 'execution.completed' && m.executionId === executionId, 30_000).catch((err: unknown) => {
          process.stderr.write(`${JSON.stringify(ws.messages.map((m) => [m.type, m.nodeId]))}\n${procs.map((p) => p.output()).join('\n').slice(-4000)}\n`);
          throw err;
        });
        const completed = ws.messages.filter((m) => m.type === 'node.completed').map((m) => m.nodeId);
        expect(completed).toEqual(['a', 'b', 'c']);
      } finally {
        postgres.start();
      }

      // Once Postgres is back the flusher writes the final state and every node run.
      const db = new pg.Client({ connectionString: postgres.url });
      await db.connect();
      try {
        const row = await waitFor(async () => {
          const r = await db.query('select status, usage from executions where id = $1', [executionId]);
          return r.rows[0]?.status === 'completed' ? r.rows[0] : null;
        }, { timeoutMs: 45_000, intervalMs: 200, message: 'final state flushed after the outage' });
        expect(row.usage.totalTokens).toBeGreaterThan(0);
        const runs = await db.query('select node_id, status, output from node_runs where execution_id = $1 order by started_at', [executionId]);
        expect(runs.rows.map((r) => `${r.node_id as string}:${r.status as string}`)).toEqual(['a:completed', 'b:completed', 'c:completed']);
        expect(runs.rows[2].output).toBe((runs.rows[1].output as string).length);
      } finally {
        await db.end();
      }
      const after = await waitFor(async () => {
        const r = await call('GET', `/v1/executions/${executionId}`);
        return r.status === 200 ? r : null;
      }, { timeoutMs: 15_000 });
      expect(after.body.status).toBe('completed');
      expect(after.body.nodes.map((n: any) => n.status)).toEqual(['completed', 'completed', 'completed']);
    } finally {
      ws.close();
    }
  }, 120_000);

  it('completes an execution with a 3 MB output while Postgres is down; the flush entries stay small, and the blob reaches Postgres afterwards', async () => {
    const call = apiClient(target.baseUrl, target.apiKey);
    const items = 50_000;
    const bigLength = items * 64 - 1;
    const flow = await createFlow(target, {
      name: 'outage-big',
      nodes: [
        { id: 'a', type: 'llm', provider: 'openai', model: 'mock-slow-1500', stream: false, prompt: 'First big {{input.x}}' },
        { id: 'big', type: 'transform', expression: `$join([0..${items - 1}].$pad($string($), -63, "."), "|")` },
        { id: 'c', type: 'transform', expression: '{"length": $length(nodes.big), "last": $substring(nodes.big, -5)}' },
      ],
      edges: [{ from: 'a', to: 'big' }, { from: 'big', to: 'c' }],
    });
    const { ws, executionId } = await startHeld(flow.id as string, 'First big');
    try {

      postgres.stop();
      gate.open();
      try {
        await ws.waitForMessage((m) => m.type === 'execution.completed' && m.executionId === executionId, 60_000);
        const completed = ws.messages.filter((m) => m.type === 'node.completed' && m.executionId === executionId);
        expect(completed.map((m) => m.nodeId)).toEqual(['a', 'big', 'c']);
        expect((completed[1]?.data as { output?: unknown } | undefined)?.output).toMatchObject({ size: bigLength + 2 });
        expect((completed[2]?.data as { output?: unknown } | undefined)?.output).toEqual({ length: bigLength, last: '49999' });
        // Nothing reached Postgres: the flush entries wait in the stream, each small.
        const pending = (await redis.xrange(`${prefix}:flush`, '-', '+')).filter(([, fields]) => fields.join('').includes(executionId));
        expect(pending.length).toBeGreaterThanOrEqual(3);
        for (const [id, fields] of pending) expect(fields.join('').length, id).toBeLessThan(4096);
        expect(await redis.hlen(`${prefix}:{${executionId}}:blobs`)).toBe(1);
      } finally {
        postgres.start();
      }

      const db = new pg.Client({ connectionString: postgres.url });
      await db.connect();
      try {
        await waitFor(async () => (await db.query('select status from executions where id = $1', [executionId])).rows[0]?.status === 'completed',
          { timeoutMs: 45_000, intervalMs: 200, message: 'final state flushed after the outage' });
        const runs = await db.query<{ node_id: string; output: unknown }>("select node_id, output from node_runs where execution_id = $1 and node_id <> 'a' order by node_id", [executionId]);
        expect(runs.rows).toEqual([
          { node_id: 'big', output: { ref: expect.stringContaining(executionId) as unknown, size: bigLength + 2 } },
          { node_id: 'c', output: { length: bigLength, last: '49999' } },
        ]);
        const blobs = await db.query<{ size: number }>('select size from output_blobs where execution_id = $1', [executionId]);
        expect(blobs.rows).toEqual([{ size: bigLength + 2 }]);
      } finally {
        await db.end();
      }
      const full = await call('GET', `/v1/executions/${executionId}?include=outputs`);
      expect(full.status).toBe(200);
      const big = (full.body.nodes as Array<{ nodeId: string; output: unknown }>).find((n) => n.nodeId === 'big')?.output;
      expect(typeof big === 'string' ? big.length : big).toBe(bigLength);
    } finally {
      ws.close();
    }
  }, 150_000);
});
