/**
 * Distributed mode on real processes: one api and two workers sharing Redis and Postgres,
 * LLM nodes through the official openai SDK to the mock provider. Condition and switch nodes (the
 * skip bookkeeping in the Lua scripts) and single-node runs are checked here too, on the same
 * fleet rather than on fleets of their own.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOCK_INVALID_API_KEY, startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { startGate, type Gate } from '../helpers/gate.js';
import { apiClient } from '../helpers/http.js';
import { connectWs } from '../helpers/ws-client.js';
import type { WeftProcess } from '../helpers/processes.js';
import { PROCESS_READY_MS, startDistributedStack, TEST_ADMIN_TOKEN, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { chainScenario, createFlow, diamondScenario, loadFixture, readSse, sseScenario, startAnswersBeforeWorkScenario, type Target, transformScenario, waitScenario, wsReplayScenario, wsUrl } from './scenarios.js';
import { billedFailureScenario, costAndBudgetScenario, deadLetterScenario, failureScenario, jsonModeScenario, mixedProvidersScenario, retryScenario, streamRetryScenario } from './llm-scenarios.js';
import { cancelScenario, executionRetryScenario, idempotencyAndVersionsScenario, replayScenario, timeoutsScenario, waitEventsScenario } from './control-scenarios.js';
import { branchFanInScenario, conditionBranchScenario, switchBranchScenario } from './branch-scenarios.js';
import { singleNodeRunScenario } from './single-node-scenarios.js';
import { SCENARIO_BREAKER } from '../helpers/targets.js';

const ADMIN = TEST_ADMIN_TOKEN;

describe('distributed mode: api + 2 workers on Redis and Postgres', () => {
  let svc: TestServices;
  let mock: MockLlm;
  let gate: Gate;
  let stack: DistributedStack;
  let procs: WeftProcess[];
  let baseUrl: string;
  let target: Target;
  let db: pg.Client;

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    gate = await startGate(mock.url);
    // One job per worker at a time: parallel branches must spread across the fleet.
    stack = await startDistributedStack({ ...svc, workers: ['w1', 'w2'], env: { WORKER_CONCURRENCY: '1', ...SCENARIO_BREAKER } });
    procs = stack.procs;
    baseUrl = stack.baseUrl;
    const apiKey = await stack.createWorkspace('e2e');
    // The mock listens on loopback: provider calls reach it only where the workspace allows private networks.
    expect((await apiClient(baseUrl, apiKey)('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
    const cred = await apiClient(baseUrl, apiKey)('PUT', '/v1/credentials/openai', { apiKey: 'sk-test-e2e-key', baseUrl: `${gate.url}/v1` });
    expect(cred.status).toBe(204);
    target = { baseUrl, apiKey, mock, gate };
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await gate?.close();
    await mock?.close();
    await svc?.cleanup();
  });

  it('runs the 3-node chain: WebSocket events in order, upstream output in each prompt, rows in Postgres', async () => {
    const { executionId } = await chainScenario(target);
    // The flusher writes the final state to Postgres shortly after the end.
    const row = await waitFor(async () => {
      const r = await db.query('select status, usage, started_at, finished_at from executions where id = $1', [executionId]);
      return r.rows[0]?.status === 'completed' ? r.rows[0] : null;
    }, { timeoutMs: 15_000 });
    expect(row.usage.totalTokens).toBeGreaterThan(0);
    expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    const runs = await db.query('select node_id, status, attempts, usage, runtime_ms, worker_id, started_at, finished_at from node_runs where execution_id = $1 order by started_at', [executionId]);
    expect(runs.rows.map((r) => r.node_id)).toEqual(['research', 'summary', 'actions']);
    for (const r of runs.rows) {
      expect(r.status).toBe('completed');
      expect(r.attempts).toBe(1);
      expect(r.usage.totalTokens).toBeGreaterThan(0);
      expect(['w1', 'w2']).toContain(r.worker_id);
      expect(r.runtime_ms).toBeGreaterThanOrEqual(0);
    }
  });

  it('answers the full result in one call with wait: true', async () => {
    await waitScenario(target);
  });

  it('streams events over SSE with Last-Event-ID replay, and replays over WebSocket on subscribe', async () => {
    const { executionId } = await chainScenario(target);
    await sseScenario(target, executionId);
    await wsReplayScenario(target, executionId);
  });

  it('runs a transform (JSONata) feeding an LLM node', async () => {
    await transformScenario(target);
  });

  it('fails a node at once on a permanent error and stops the execution there', async () => {
    await failureScenario(target);
  });

  it('runs one flow across OpenAI, Anthropic and Gemini through their SDKs, streaming each', async () => {
    await mixedProvidersScenario(target);
  });

  it('parses JSON-mode answers for downstream templates, and marks a cut stream with node.retrying', async () => {
    await jsonModeScenario(target);
    await streamRetryScenario(target);
    await billedFailureScenario(target);
  });

  it('dead-letters a node that fails with 500 after its configured attempts, and replays one that then succeeds', async () => {
    await deadLetterScenario(target);
    await replayScenario(target);
  });

  it('prices LLM nodes exactly and stops at the execution budget', async () => {
    await costAndBudgetScenario(target, ADMIN);
  });

  it('retries a 429, honouring Retry-After, and completes on the second attempt', async () => {
    await retryScenario(target);
  });

  it('answers 202 without waiting for the execution to run', async () => {
    await startAnswersBeforeWorkScenario(target);
  });

  it('runs a diamond: b and c concurrently on different workers, d once with both outputs', async () => {
    const doc = await diamondScenario(target);
    const runs = await waitFor(async () => {
      const r = await db.query('select node_id, worker_id from node_runs where execution_id = $1', [doc.id]);
      return r.rows.length === 4 ? r.rows : null;
    }, { timeoutMs: 15_000 });
    const worker = new Map(runs.map((r) => [r.node_id, r.worker_id]));
    expect(worker.get('b')).not.toBe(worker.get('c'));
  });

  it('cancels a slow LLM call across the fleet, and retries a failed execution along the failed path only', async () => {
    await cancelScenario(target);
    await executionRetryScenario(target);
  });

  it('waits for approvals and webhooks (token checked) and times a wait out', async () => {
    await waitEventsScenario(target);
  });

  it('fails a node at its timeoutMs, and an execution at its flow timeoutMs, aborting what runs', async () => {
    await timeoutsScenario(target);
  });

  it('returns the same execution for an Idempotency-Key and pins the flow version an execution started with', async () => {
    await idempotencyAndVersionsScenario(target);
  });

  it('never returns, publishes, dead-letters or logs a provider key', async () => {
    const canary = 'sk-canary-7f3a9c1e5b2d8e4f';
    const ws = await apiClient(baseUrl)('POST', '/v1/workspaces', { name: 'canary' }, { authorization: `Bearer ${ADMIN}` });
    const call = apiClient(baseUrl, ws.body.apiKey);
    expect((await call('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true })).status).toBe(200);
    expect((await call('PUT', '/v1/credentials/openai', { apiKey: canary, baseUrl: `${mock.url}/v1` })).status).toBe(204);
    // The mock refuses this key with 401: the failure path must not leak it either.
    expect((await call('PUT', '/v1/credentials/anthropic', { apiKey: MOCK_INVALID_API_KEY, baseUrl: mock.url })).status).toBe(204);
    const flow = await createFlow({ ...target, apiKey: ws.body.apiKey }, {
      name: 'canary',
      nodes: [
        { id: 'ok', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Hello {{input.x}}' },
        { id: 'denied', type: 'llm', provider: 'anthropic', model: 'claude-haiku-4-5', prompt: 'Then {{ok}}' },
      ],
      edges: [{ from: 'ok', to: 'denied' }],
    });
    const socket = await connectWs(wsUrl(baseUrl), { authorization: `Bearer ${ws.body.apiKey as string}` });
    try {
      socket.send({ type: 'subscribe', flowId: flow.id });
      await socket.waitForMessage((m) => m.type === 'subscribed');
      const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { x: 'canary' }, wait: true });
      expect(res.body.status).toBe('failed');
      expect(res.body.error).toMatchObject({ code: 'llm_auth', category: 'permanent', nodeId: 'denied' });
      await socket.waitForMessage((m) => m.type === 'execution.failed');
      const creds = await call('GET', '/v1/credentials');
      expect(creds.body.find((c: any) => c.provider === 'openai').last4).toBe(canary.slice(-4));
      const letters = await call('GET', '/v1/dead-letters');
      const sse = await readSse(`${baseUrl}/v1/executions/${res.body.id as string}/events`, { authorization: `Bearer ${ws.body.apiKey as string}` });
      const seen = [JSON.stringify(res.body), JSON.stringify(socket.messages), JSON.stringify(creds.body), JSON.stringify(letters.body), JSON.stringify(sse.frames), ...procs.map((p) => p.output())];
      for (const text of seen) {
        expect(text).not.toContain(canary);
        expect(text).not.toContain(MOCK_INVALID_API_KEY);
      }
      // The key did reach the provider (the mock redacts what it records).
      expect(mock.requests.some((r) => r.model === 'gpt-4o-mini' && r.headers.authorization === '[redacted]')).toBe(true);
    } finally {
      socket.close();
    }
  });

  describe('branches', () => {
    it('condition: only the taken side runs, the other and its downstream are skipped, the join runs once', async () => {
      await conditionBranchScenario(target);
    });

    it('switch: three cases and a default, one handler runs, the join runs once', async () => {
      await switchBranchScenario(target);
    });

    it('a fan-in after a skipped side that also has a parent outside the branch runs once, in either commit order', async () => {
      await branchFanInScenario(target);
    });
  });

  it('a single-node run uses the newest upstream outputs', async () => {
    await singleNodeRunScenario(target);
  }, 90_000);

  it('keeps a 2 s wait across a restart of every worker', async () => {
    const call = apiClient(baseUrl, target.apiKey);
    const flow = await createFlow(target, {
      name: 'timer',
      nodes: [
        { id: 'pause', type: 'wait', durationMs: 2000 },
        { id: 'after', type: 'transform', expression: '"done"' },
      ],
      edges: [{ from: 'pause', to: 'after' }],
    });
    const t0 = Date.now();
    const start = await call('POST', `/v1/flows/${flow.id}/executions`, {});
    const executionId = start.body.executionId as string;
    await waitFor(async () => (await call('GET', `/v1/executions/${executionId}`)).body.status === 'waiting', { message: 'waiting' });
    // The whole fleet goes away mid-wait and a new one comes up: the timer lives in Redis.
    const old = procs.filter((p) => p.name === 'w1' || p.name === 'w2');
    await Promise.all(old.map((p) => p.stop()));
    await Promise.all([stack.startWorker('w3'), stack.startWorker('w4')]);
    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { timeoutMs: 20_000, message: 'timer completed after the restart' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(Date.parse(done.nodes[0].finishedAt) - Date.parse(done.nodes[0].startedAt)).toBeGreaterThanOrEqual(1900);
    expect(done.nodes[1].output).toBe('done');
    const ranOn = await waitFor(async () => (await db.query('select worker_id from node_runs where execution_id = $1 and node_id = $2', [executionId, 'after'])).rows[0]?.worker_id as string | undefined, { timeoutMs: 10_000 });
    expect(['w3', 'w4']).toContain(ranOn);
   }, PROCESS_READY_MS + 60_000);

  it('answers bad input with the api.md error shape', async () => {
    const call = apiClient(baseUrl, target.apiKey);
    const missing = await apiClient(baseUrl)('GET', '/v1/flows');
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('unauthorized');

    const malformed = await call('POST', '/v1/flows', '{"name": "broken",');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');

    const cyclic = await call('POST', '/v1/flows', { name: 'loop', nodes: [{ id: 'a', type: 'transform', expression: '1' }, { id: 'b', type: 'transform', expression: '2' }], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] });
    expect(cyclic.status).toBe(400);
    expect(cyclic.body.error.code).toBe('invalid_flow');
    expect(cyclic.body.error.details[0].path).toBe('/edges');

    const unknown = await call('POST', '/v1/flows/0190d7a0-0000-7000-8000-000000000000/executions', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');

    // Another workspace's flow is invisible: 404, never 403.
    const other = await apiClient(baseUrl)('POST', '/v1/workspaces', { name: 'other' }, { authorization: `Bearer ${ADMIN}` });
    const theirs = await createFlow({ ...target, apiKey: other.body.apiKey }, loadFixture('chain'));
    const peek = await call('GET', `/v1/flows/${theirs.id}`);
    expect(peek.status).toBe(404);
    const run = await call('POST', `/v1/flows/${theirs.id}/executions`, {});
    expect(run.status).toBe(404);
    // Nothing half-written: no execution of that flow exists.
    const { rows } = await db.query('select count(*)::int as n from executions where flow_id = $1', [theirs.id]);
    expect(rows[0].n).toBe(0);
  });
});
