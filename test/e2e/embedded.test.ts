/**
 * Embedded mode: `npm start` with no REDIS_URL/DATABASE_URL — api and worker in one process
 * on PGlite and in-memory adapters, and the local mock provider when no credentials exist.
 * Branch and map flows run here too (the in-memory state store), on this one process rather
 * than on processes of their own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { startGate, type Gate } from '../helpers/gate.js';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { freePort, startWeftProcess, waitForHttp, type WeftProcess } from '../helpers/processes.js';
import { PROCESS_READY_MS } from '../helpers/stack.js';
import { chainScenario, createFlow, diamondScenario, loadFixture, sseScenario, type Target, transformScenario, waitScenario, wsReplayScenario } from './scenarios.js';
import { billedFailureScenario, costAndBudgetScenario, deadLetterScenario, failureScenario, jsonModeScenario, mixedProvidersScenario, retryScenario, streamRetryScenario } from './llm-scenarios.js';
import { cancelScenario, executionRetryScenario, idempotencyAndVersionsScenario, replayScenario, timeoutsScenario, waitEventsScenario } from './control-scenarios.js';
import { branchFanInScenario, conditionBranchScenario, switchBranchScenario } from './branch-scenarios.js';
import { mapApprovalScenario, mapConcurrencyScenario, mapItemErrorScenario, mapRetryScenario, mapTimeoutScenario } from './map-scenarios.js';
import { SCENARIO_BREAKER } from '../helpers/targets.js';

describe('embedded mode: one process, PGlite, in-memory queue/state/events', () => {
  let dataDir: string;
  let proc: WeftProcess;
  let baseUrl: string;
  let apiKey: string;
  let mock: MockLlm;
  let gate: Gate;
  let target: Target;

  /**
   * A start loads the api and worker module graph through tsx and opens PGlite (its WASM start,
   * and initdb on a fresh folder): a few seconds on an idle machine, 20-40 s on a loaded 2-core
   * one. Tests that restart wait for readiness, with this much room for each start.
   */
  const BOOT_BUDGET_MS = PROCESS_READY_MS;
  /** A restart: the stop (at most 10 s before SIGKILL), a start, and the test's own work. */
  const RESTART_TEST_MS = 10_000 + BOOT_BUDGET_MS + 30_000;

  async function boot(): Promise<void> {
    const port = await freePort();
    proc = startWeftProcess({
      name: 'embedded',
      script: 'api/embedded/src/main.ts',
      env: {
        REDIS_URL: undefined, DATABASE_URL: undefined, WEFT_MASTER_KEY: undefined, WEFT_ADMIN_TOKEN: undefined, WEFT_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', ...SCENARIO_BREAKER,
        // The recovery sweep looks often, so that a restart's rebuild is seen quickly.
        WEFT_SWEEP_INTERVAL_MS: '300', WEFT_SWEEP_MIN_AGE_MS: '300',
      },
    });
    baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${baseUrl}/health/ready`, proc, BOOT_BUDGET_MS);
    // Ready answers once the api listens; the banner follows the local workspace's set-up.
    await waitFor(() => proc.output().includes('Create and run the 3-node example flow'), { timeoutMs: 30_000 });
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'weft-embedded-'));
    await boot();
    apiKey = (JSON.parse(readFileSync(join(dataDir, 'local-workspace.json'), 'utf8')) as { apiKey: string }).apiKey;
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    gate = await startGate(mock.url);
    target = { baseUrl, apiKey, mock, gate };
  }, BOOT_BUDGET_MS + 30_000);

  afterAll(async () => {
    await proc?.stop();
    await gate?.close();
    await mock?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URL, a local API key and copy-paste curl lines, and runs offline on the bundled mock', async () => {
    const out = proc.output();
    expect(out).toContain(`Weft is running in embedded mode at ${baseUrl}`);
    expect(out).toContain(apiKey);
    // The generated admin token is printed, and it works for admin routes.
    const adminToken = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    expect(out).toContain(`admin token  ${adminToken}`);
    const created = await apiClient(baseUrl)('POST', '/v1/workspaces', { name: 'second' }, { authorization: `Bearer ${adminToken}` });
    expect(created.status).toBe(201);
    expect(out).toContain('mock provider at http://127.0.0.1:');
    // With no credentials of its own, the workspace runs on the bundled mock.
    const call = apiClient(baseUrl, apiKey);
    const flow = await createFlow(target, loadFixture('chain'));
    const res = await call('POST', `/v1/flows/${flow.id}/executions`, { input: { topic: 'offline' }, wait: true, timeoutMs: 20_000 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('completed');
    expect(res.body.nodes.every((n: any) => n.status === 'completed')).toBe(true);
    // The mock is reached because the local workspace allows private networks (the egress wall still applies).
    expect((await call('GET', '/v1/workspace')).body.httpAllowPrivateNetworks).toBe(true);
  });

  it('runs the 3-node chain with real credentials pointed at a provider (events, prompts, document)', async () => {
    // Real keys replace the bundled mock with one call; here the "real" provider is our own mock.
    const call = apiClient(baseUrl, apiKey);
    expect((await call('PUT', '/v1/credentials/openai', { apiKey: 'sk-real-looking', baseUrl: `${gate.url}/v1` })).status).toBe(204);
    await chainScenario(target);
  });

  it('answers the full result in one call with wait: true', async () => {
    await waitScenario(target);
  });

  it('streams events over SSE and WebSocket replay, runs transforms, fails and retries like distributed mode', async () => {
    const { executionId } = await chainScenario(target);
    await sseScenario(target, executionId);
    await wsReplayScenario(target, executionId);
    await transformScenario(target);
    await failureScenario(target);
    await retryScenario(target);
    await mixedProvidersScenario(target);
    await deadLetterScenario(target);
    await replayScenario(target);
    await cancelScenario(target);
    await executionRetryScenario(target);
    await idempotencyAndVersionsScenario(target);
    await waitEventsScenario(target);
    await timeoutsScenario(target);
    await jsonModeScenario(target);
    await streamRetryScenario(target);
    await billedFailureScenario(target);
    await costAndBudgetScenario(target, readFileSync(join(dataDir, 'admin.token'), 'utf8').trim());
   }, 120_000);

  it('runs a diamond with b and c concurrently and d once', async () => {
    await diamondScenario(target);
  });

  it('runs the condition, switch and fan-in scenarios like distributed mode', async () => {
    await conditionBranchScenario(target);
    await switchBranchScenario(target);
    await branchFanInScenario(target);
  }, 60_000);

  it('runs the map scenarios like distributed mode', async () => {
    await mapConcurrencyScenario(target);
    await mapItemErrorScenario(target);
    await mapRetryScenario(target);
    await mapTimeoutScenario(target);
    await mapApprovalScenario(target);
  }, 120_000);

  it('finishes an execution that was running when the process was killed, without re-running what completed', async () => {
    const call = apiClient(baseUrl, apiKey);
    const flow = await createFlow(target, {
      name: 'survives-a-kill',
      nodes: [
        { id: 'before', type: 'transform', expression: '{"stamp": $millis()}' },
        { id: 'pause', type: 'wait', durationMs: 1500 },
        { id: 'after', type: 'transform', expression: 'nodes.before.stamp' },
      ],
      edges: [{ from: 'before', to: 'pause' }, { from: 'pause', to: 'after' }],
    });
    const start = await call('POST', `/v1/flows/${flow.id as string}/executions`, { input: {} });
    const executionId = start.body.executionId as string;
    const waiting = await waitFor(async () => {
      const doc = (await call('GET', `/v1/executions/${executionId}`)).body;
      return doc.nodes?.find((n: any) => n.nodeId === 'pause')?.status === 'waiting' ? doc : null;
    }, { timeoutMs: 10_000, message: 'wait node waiting' });
    const stamp = waiting.nodes.find((n: any) => n.nodeId === 'before').output.stamp as number;
    // Once the flusher has recorded `before` in PGlite (the node's run history reads node_runs),
    // a crash: the queue and hot state were in memory.
    await waitFor(async () => {
      const history = await call('GET', `/v1/flows/${flow.id as string}/nodes/before/runs`);
      return history.body.items?.some((run: any) => run.executionId === executionId && run.status === 'completed');
    }, { timeoutMs: 20_000, message: '`before` flushed to PGlite' });
    await proc.stop('SIGKILL');
    await boot();
    // boot() listens on a new port.
    const again = apiClient(baseUrl, apiKey);
    const done = await waitFor(async () => {
      const doc = (await again('GET', `/v1/executions/${executionId}`)).body;
      return doc.status === 'completed' || doc.status === 'failed' ? doc : null;
    }, { timeoutMs: 30_000, message: 'execution finished after the restart' });
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    // `before` kept its result from before the kill; `after` read it.
    expect(done.output).toEqual({ after: stamp });
    // The flusher records the end in PGlite too (the list reads the rows): the next test compares
    // the list across a restart, so it must not catch this row between the two.
    await waitFor(async () => {
      const list = await again('GET', '/v1/executions?limit=100');
      return list.body.items?.some((e: any) => e.id === executionId && e.status === 'completed');
    }, { timeoutMs: 20_000, message: 'the end flushed to PGlite' });
  }, RESTART_TEST_MS);

  it('keeps the workspace, its key and its executions across a restart (PGlite data folder)', async () => {
    const before = await apiClient(baseUrl, apiKey)('GET', '/v1/executions?limit=100');
    expect(before.status).toBe(200);
    expect(before.body.items.length).toBeGreaterThan(3);
    expect(await proc.stop()).toBe(0);
    await boot();
    expect(proc.output()).toContain(apiKey);
    const after = await apiClient(baseUrl, apiKey)('GET', '/v1/executions?limit=100');
    expect(after.status).toBe(200);
    const summary = (items: any[]): string[] => items.map((e) => `${e.id as string}:${e.status as string}:${JSON.stringify(e.usage)}`);
    expect(summary(after.body.items)).toEqual(summary(before.body.items));
    expect(after.body.items.some((e: any) => e.status === 'completed')).toBe(true);
  }, RESTART_TEST_MS);
});
