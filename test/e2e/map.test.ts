/**
 * Map nodes end to end, on real processes: distributed (api + 2 workers on Redis and Postgres,
 * so items spread over the fleet and the window is kept by the Lua scripts). Item LLM calls go
 * through the openai SDK to the mock provider. The same scenarios run in embedded mode (one
 * process, in-memory state store) in embedded.test.ts, on its process.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { STACK_START_MS } from '../helpers/stack.js';
import { startMockedDistributed, type MockedTarget } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait-for.js';
import { mapApprovalScenario, mapConcurrencyScenario, mapItemErrorScenario, mapRetryScenario, mapTimeoutScenario, mapValidationScenario } from './map-scenarios.js';

describe('map, distributed: api + 2 workers on Redis and Postgres', () => {
  let svc: TestServices;
  let target: MockedTarget;
  let db: pg.Client;

  beforeAll(async () => {
    svc = await createTestServices();
    target = await startMockedDistributed(svc, { workspace: 'map', workerConcurrency: 4 });
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await target?.stop();
    await svc?.cleanup();
  });

  it('runs 50 items with concurrency 5 across both workers: at most 5 calls at once, results in order, rows per item', async () => {
    const { executionId } = await mapConcurrencyScenario(target);
    const rows = await waitFor(async () => {
      const r = await db.query("select node_id, iteration, node_type, worker_id from node_runs where execution_id = $1 and node_id like 'each[%' order by iteration, node_id", [executionId]);
      return r.rows.length === 100 ? r.rows : null;
    }, { timeoutMs: 10_000, message: 'item node rows flushed' });
    expect(rows[0]).toMatchObject({ node_id: 'each[0].ask', iteration: 0, node_type: 'llm' });
    expect(rows[99]).toMatchObject({ node_id: 'each[49].shape', iteration: 49, node_type: 'transform' });
    expect(new Set(rows.map((r) => r.worker_id as string)).size).toBe(2);
    const map = await db.query("select node_type, status, jsonb_array_length(output) as n from node_runs where execution_id = $1 and node_id = 'each'", [executionId]);
    expect(map.rows[0]).toMatchObject({ node_type: 'map', status: 'completed', n: 50 });
  }, 90_000);

  it('keeps a failed item\'s error in its slot with onItemError "continue", and fails the map without it', async () => {
    await mapItemErrorScenario(target);
  }, 60_000);

  it('retries a failed map: only the failed item runs again, and the execution completes', async () => {
    await mapRetryScenario(target);
  }, 60_000);

  it('times a map out: its running items are aborted across the fleet and it fails with node_timeout', async () => {
    await mapTimeoutScenario(target);
  }, 30_000);

  it('waits for an approval per item, each resumed through the api', async () => {
    await mapApprovalScenario(target);
  }, 30_000);

  it('refuses a map flow with bad references, inside and outside the sub-graph', async () => {
    await mapValidationScenario(target);
  });
});
