/** Costs are also stored as exact decimals: a SQL sum over many runs has no float drift. */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@weft/db/database';
import type { NodeRunRow, WeftDatabase } from '@weft/db/repos';
import { createTestServices, type TestServices } from '../helpers/services.js';

describe('exact cost columns', () => {
  let svc: TestServices;
  let database: WeftDatabase;

  beforeAll(async () => {
    svc = await createTestServices();
    database = await createDatabase({ url: svc.databaseUrl, masterKey: randomBytes(32) });
    await database.migrate();
  });
  afterAll(async () => {
    await database?.close();
    await svc?.cleanup();
  });

  it('sums 1000 node runs of $0.00189 to exactly $1.89 in SQL, and writes the execution total', async () => {
    const { repos } = database;
    const { workspace } = await repos.workspaces.create({ name: 'costs' });
    const flow = await repos.flows.create({ workspaceId: workspace.id, flow: { name: 'f', nodes: [{ id: 'a', type: 'transform', expression: '1' }], edges: [] } });
    const { execution } = await repos.executions.create({ workspaceId: workspace.id, flowId: flow.id, flowVersion: 1, input: null });
    const cost = { inputCost: 0.000105, outputCost: 0.001785, reasoningCost: 0, totalCost: 0.00189 };
    const rows: NodeRunRow[] = Array.from({ length: 1000 }, (_, i) => ({
      executionId: execution.id, workspaceId: workspace.id, flowId: flow.id, nodeId: `n${i}`, iteration: 0, nodeType: 'llm',
      status: 'completed', attempts: 1, input: null, output: 'x', error: null, usage: null, cost,
      provider: 'openai', model: 'gpt-4o', workerId: 'w', startedAt: new Date(), finishedAt: new Date(), runtimeMs: 1,
    }));
    await repos.nodeRuns.upsertMany(rows);
    await repos.executions.finalize({ executionId: execution.id, status: 'completed', output: null, error: null, usage: null, cost: { ...cost, totalCost: 1.89 }, startedAt: null, finishedAt: new Date() });
    const client = new pg.Client({ connectionString: svc.databaseUrl });
    await client.connect();
    try {
      const sum = await client.query<{ total: string }>('select sum(total_cost_usd)::text as total from node_runs where execution_id = $1', [execution.id]);
      expect(sum.rows[0]?.total).toBe('1.890000000');
      const exec = await client.query<{ total: string }>('select total_cost_usd::text as total from executions where id = $1', [execution.id]);
      expect(exec.rows[0]?.total).toBe('1.890000000');
    } finally {
      await client.end();
    }
  });
});
