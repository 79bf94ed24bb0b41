/**
 * A Postgres outage delays flushing; it does not stop execution and loses nothing
 * (architecture.md, lifecycle step 4). The api and a worker run on a Postgres of this test's
 * own, which is stopped while an execution is in flight and started again afterwards. The
 * worker reaches the mock through a gate that holds node a's call until Postgres is down, so the
 * call is provably in flight across the stop.
 */
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
import { connectWs } from '../helpers/ws-client.js';
import { createFlow, wsUrl, type Target } from '../e2e/scenarios.js';


describe('Postgres outage during an execution', () => {
  let postgres: PrivatePostgres;
  let mock: MockLlm;
  let gate: Gate;
  let stack: DistributedStack;
  let procs: WeftProcess[] = [];
  let target: Target;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    gate = await startGate(mock.url);
    stack = await startDistributedStack({ redisUrl: inject('redisUrl'), databaseUrl: postgres.url, prefix: `wt${uniqueId()}`, workers: ['w-outage'] });
    procs = stack.procs;
    const apiKey = await stack.createWorkspace('outage');
    const call = apiClient(stack.baseUrl, apiKey);
    // The mock listens on loopback: provider calls reach it only where the workspace allows private networks.
    expect((await call('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
    expect((await call('PUT', '/v1/credentials/openai', { apiKey: 'sk-outage', baseUrl: `${gate.url}/v1` })).status).toBe(204);
    target = { baseUrl: stack.baseUrl, apiKey, mock, gate };
  }, STACK_START_MS);

  afterAll(async () => {
    await stack?.stop();
    await gate?.close();
    await mock?.close();
    postgres?.destroy();
  });

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
    const ws = await connectWs(wsUrl(target.baseUrl), { authorization: `Bearer ${target.apiKey}` });
    try {
      ws.send({ type: 'subscribe', flowId: flow.id });
      await ws.waitForMessage((m) => m.type === 'subscribed');
      gate.hold((body) => body.includes('First outage'));
      const start = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'outage' } });
      expect(start.status).toBe(202);
      const executionId = start.body.executionId as string;
      await ws.waitForMessage((m) => m.type === 'node.started' && m.nodeId === 'a');
      // Stop Postgres while node a's provider call is in flight (held at the gate until then).
      await waitFor(() => gate.waiting() === 1, { timeoutMs: 30_000, message: 'node a calling the provider' });

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
});
