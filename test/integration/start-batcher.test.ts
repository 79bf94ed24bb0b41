/**
 * The start path's group commit on real Postgres: starts of one workspace in the same turn go in
 * one statement, starts of two workspaces never share one, and a start Postgres refuses fails
 * alone while the others of its batch are written.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type SqlDatabase } from '@weft/db/database';
import { createLogger } from '@weft/shared/logging';
import { createMetrics, type WeftMetrics } from '@weft/shared/metrics';
import { StartBatcher } from '@weft/shared/run-engine';
import { flowDef } from '../contract/db-repos.fixture.js';
import { createTestServices, uniqueId, type TestServices } from '../helpers/services.js';

let services: TestServices;
let database: SqlDatabase;

beforeAll(async () => {
  services = await createTestServices();
  database = await createDatabase({ url: services.databaseUrl, masterKey: randomBytes(32), poolSize: 4 });
  await database.migrate();
});

afterAll(async () => {
  await database?.close();
  await services?.cleanup();
});

async function workspaceWithFlow(): Promise<{ ws: string; flowId: string }> {
  const { workspace } = await database.repos.workspaces.create({ name: `batch${uniqueId()}` });
  const flow = await database.repos.flows.create({ workspaceId: workspace.id, flow: flowDef('batched') });
  return { ws: workspace.id, flowId: flow.id };
}

/** The histogram's observations: how many batches, and how many rows in all. */
async function batches(metrics: WeftMetrics): Promise<{ count: number; rows: number }> {
  const { values } = await metrics.startBatchRows.get();
  const of = (name: string): number => values.find((v) => v.metricName === name)?.value ?? 0;
  return { count: of('weft_start_batch_rows_count'), rows: of('weft_start_batch_rows_sum') };
}

describe('start batcher', () => {
  it('writes the starts of one turn in one statement per workspace', async () => {
    const metrics = createMetrics();
    const batcher = new StartBatcher({ repos: database.repos, metrics, logger: createLogger({ level: 'silent', name: 'test' }) });
    const a = await workspaceWithFlow();
    const b = await workspaceWithFlow();
    const started = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => batcher.write(a.ws, { flowId: a.flowId, flowVersion: 1, latest: true, input: { i } })),
      ...Array.from({ length: 3 }, (_, i) => batcher.write(b.ws, { flowId: b.flowId, flowVersion: 1, latest: true, input: { i } })),
    ]);
    expect(started.map((row) => row?.workspaceId)).toEqual([...Array<string>(12).fill(a.ws), ...Array<string>(3).fill(b.ws)]);
    expect(await batches(metrics)).toEqual({ count: 2, rows: 15 });
    const listed = await database.repos.executions.list({ workspaceId: a.ws, limit: 50 });
    expect(listed.items.map((row) => (row.input as { i: number }).i).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('splits at maxBatch', async () => {
    const metrics = createMetrics();
    const batcher = new StartBatcher({ repos: database.repos, metrics, logger: createLogger({ level: 'silent', name: 'test' }), maxBatch: 4 });
    const a = await workspaceWithFlow();
    const started = await Promise.all(Array.from({ length: 10 }, () => batcher.write(a.ws, { flowId: a.flowId, flowVersion: 1, latest: true, input: null })));
    expect(started.every((row) => row !== null)).toBe(true);
    expect(await batches(metrics)).toEqual({ count: 3, rows: 10 });
  });

  it('fails a start Postgres refuses alone, and writes the rest of its batch', async () => {
    const metrics = createMetrics();
    const batcher = new StartBatcher({ repos: database.repos, metrics, logger: createLogger({ level: 'silent', name: 'test' }) });
    const a = await workspaceWithFlow();
    // jsonb refuses \u0000 (22P05): the api's input guard stops it first, the batcher must not rely on that.
    const outcomes = await Promise.allSettled([
      batcher.write(a.ws, { flowId: a.flowId, flowVersion: 1, latest: true, input: { ok: 1 } }),
      batcher.write(a.ws, { flowId: a.flowId, flowVersion: 1, latest: true, input: { bad: 'nul\u0000' } }),
      batcher.write(a.ws, { flowId: a.flowId, flowVersion: 1, latest: true, input: { ok: 2 } }),
      batcher.write(a.ws, { flowId: a.flowId, flowVersion: 9, latest: true, input: { stale: true } }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? (o.value?.input ?? null) : 'refused'))).toEqual([{ ok: 1 }, 'refused', { ok: 2 }, null]);
    const listed = await database.repos.executions.list({ workspaceId: a.ws, limit: 50 });
    expect(listed.items).toHaveLength(2);
  });
});
