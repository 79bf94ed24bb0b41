/**
 * Migrations on a fresh Postgres database (library and `npm run db:migrate`), and the PGlite
 * variant: migrations plus a smoke pass over the repos on one shared in-memory instance.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, IN_MEMORY } from '@weft/db/database';
import type { WeftDatabase } from '@weft/db/repos';
import { createTestServices, type TestServices } from '../helpers/services.js';

const TABLES = [
  'api_keys', 'execution_events', 'executions', 'flow_versions', 'flows', 'hooks', 'model_pricing', 'node_runs', 'output_blobs', 'provider_credentials', 'schedule_ticks', 'schedules',
  'secrets', 'task_secret_deliveries', 'tasks', 'worker_tokens', 'workspaces',
];
const masterKey = randomBytes(32);

async function publicTables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(`select table_name as t from information_schema.tables where table_schema = 'public' order by 1`);
    return rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}

async function freshDatabaseUrl(svc: TestServices, suffix: string): Promise<string> {
  const admin = new pg.Client({ connectionString: svc.databaseUrl });
  await admin.connect();
  const name = `${new URL(svc.databaseUrl).pathname.slice(1)}_${suffix}`;
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(svc.databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

describe('migrations on Postgres', () => {
  let svc: TestServices;
  const extraDbs: string[] = [];
  beforeAll(async () => { svc = await createTestServices(); });
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: svc.databaseUrl });
    await admin.connect();
    for (const url of extraDbs) await admin.query(`drop database if exists ${new URL(url).pathname.slice(1)} with (force)`);
    await admin.end();
    await svc.cleanup();
  });

  it('apply on a fresh database, concurrently from several instances, and again as a no-op', async () => {
    const dbs = await Promise.all([0, 1, 2].map(() => createDatabase({ url: svc.databaseUrl, masterKey, poolSize: 2 })));
    try {
      await Promise.all(dbs.map((d) => d.migrate()));
      await dbs[0]!.migrate();
      expect(await publicTables(svc.databaseUrl)).toEqual(TABLES);
      await dbs[0]!.ping();
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  });

  it('ping fails when the database is unreachable', async () => {
    const db = await createDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', masterKey: null, poolSize: 1 });
    try {
      await expect(db.ping()).rejects.toThrow();
    } finally {
      await db.close();
    }
  });

  it('npm run db:migrate migrates DATABASE_URL with nothing else configured', async () => {
    const url = await freshDatabaseUrl(svc, 'cli');
    extraDbs.push(url);
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: url, LOG_LEVEL: 'info' };
    const { stdout } = await promisify(execFile)(
      process.execPath, ['--import', 'tsx', '--conditions=weft-source', 'drizzle/src/cli-migrate.ts'],
      { env, cwd: join(import.meta.dirname, '..', '..'), timeout: 60_000 });
    expect(stdout).toContain('migrations applied');
    expect(stdout).not.toContain(url);
    expect(await publicTables(url)).toEqual(TABLES);
  }, 90_000);
});

describe('PGlite', () => {
  let database: WeftDatabase;
  beforeAll(async () => {
    database = await createDatabase({ dataDir: IN_MEMORY, masterKey });
    await database.migrate();
  });
  afterAll(async () => { await database.close(); });

  it('migrates in memory, idempotently', async () => {
    expect(database.kind).toBe('pglite');
    await database.migrate();
    await database.ping();
  });

  it('applies the model_pricing seed with the same migrations (model-pricing-seed.test.ts has the whole table)', async () => {
    expect(await database.repos.pricing.get('anthropic', 'claude-sonnet-4-5')).toEqual({
      provider: 'anthropic', model: 'claude-sonnet-4-5', inputPer1M: 3, outputPer1M: 15, reasoningPer1M: 15, cachedPer1M: 0.3,
    });
  });

  it('runs the repos: workspace, credentials, flows, executions, node runs, pricing', async () => {
    const { repos } = database;
    const { workspace, apiKey } = await repos.workspaces.create({ name: 'embedded' });
    expect(await repos.workspaces.authenticate(apiKey)).toMatchObject({ workspaceId: workspace.id });
    expect(await repos.workspaces.authenticate(apiKey.replace(/.$/, '_'))).toBeNull();

    await repos.credentials.put({ workspaceId: workspace.id, provider: 'openai', apiKey: 'sk-embedded-1234', baseUrl: 'http://127.0.0.1:1/v1' });
    expect(await repos.credentials.resolve(workspace.id, 'openai')).toEqual({ apiKey: 'sk-embedded-1234', baseUrl: 'http://127.0.0.1:1/v1' });
    expect((await repos.credentials.list(workspace.id))[0]).toMatchObject({ provider: 'openai', last4: '1234' });

    const flow = await repos.flows.create({
      workspaceId: workspace.id,
      flow: { name: 'f', nodes: [{ id: 'a', type: 'transform', expression: '1' }], edges: [] },
    });
    const v2 = await repos.flows.update({ workspaceId: workspace.id, flowId: flow.id, flow: { name: 'g', nodes: [{ id: 'a', type: 'transform', expression: '2' }], edges: [] } });
    expect(v2?.version).toBe(2);
    expect((await repos.flows.get({ workspaceId: workspace.id, flowId: flow.id, version: 1 }))?.name).toBe('f');
    expect((await repos.flows.list({ workspaceId: workspace.id, limit: 10 })).items.map((f) => f.version)).toEqual([2]);

    const first = await repos.executions.create({ workspaceId: workspace.id, flowId: flow.id, flowVersion: 2, input: { x: 1 }, idempotencyKey: 'k', maxCostUsd: 1.5 });
    const again = await repos.executions.create({ workspaceId: workspace.id, flowId: flow.id, flowVersion: 2, input: { x: 1 }, idempotencyKey: 'k' });
    expect(again).toMatchObject({ created: false, execution: { id: first.execution.id, maxCostUsd: 1.5 } });
    await repos.executions.create({ workspaceId: workspace.id, flowId: flow.id, flowVersion: 2, input: null });
    const page1 = await repos.executions.list({ workspaceId: workspace.id, limit: 1 });
    const page2 = await repos.executions.list({ workspaceId: workspace.id, limit: 1, cursor: page1.nextCursor ?? '' });
    expect(page2.items[0]?.id).toBe(first.execution.id);
    expect(page2.nextCursor).toBeNull();

    await repos.executions.claimQueued({ executionId: first.execution.id, startedAt: new Date() });
    const run = {
      executionId: first.execution.id, workspaceId: workspace.id, flowId: flow.id, nodeId: 'a', iteration: 0, nodeType: 'transform',
      status: 'running' as const, attempts: 1, input: null, output: null, error: null, usage: null, cost: null,
      provider: null, model: null, workerId: 'w', startedAt: new Date(), finishedAt: null, runtimeMs: null,
    };
    await repos.nodeRuns.upsertMany([run]);
    await repos.nodeRuns.upsertMany([{ ...run, status: 'completed', output: 2, finishedAt: new Date(), runtimeMs: 3 }]);
    expect(await repos.nodeRuns.listByExecution(first.execution.id)).toMatchObject([{ status: 'completed', output: 2, runtimeMs: 3 }]);
    await repos.executions.finalize({
      executionId: first.execution.id, status: 'completed', output: { a: 2 }, error: null, usage: null, cost: null, startedAt: null, finishedAt: new Date(),
    });
    expect((await repos.executions.getById(first.execution.id))?.status).toBe('completed');

    const price = { provider: 'gemini', model: 'gemini-2.5-flash', inputPer1M: 0.3, outputPer1M: 2.5, reasoningPer1M: 2.5, cachedPer1M: 0.075 };
    expect(await repos.pricing.upsert(price)).toEqual(price);
    expect(await repos.pricing.list()).toContainEqual(price);
  });

  it('creates its data folder and keeps data across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-pglite-'));
    const dataDir = join(dir, 'nested', 'pgdata');
    try {
      const first = await createDatabase({ dataDir, masterKey: null });
      await first.migrate();
      const { workspace } = await first.repos.workspaces.create({ name: 'persisted' });
      await first.close();
      const second = await createDatabase({ dataDir, masterKey: null });
      try {
        await second.migrate();
        expect(await second.repos.workspaces.get(workspace.id)).toEqual(workspace);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
