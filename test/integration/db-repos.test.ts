/**
 * Every repo of @weft/db on a real Postgres database (a fresh one for this file).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@weft/db/database';
import type { NodeRunRow, WeftDatabase } from '@weft/db/repos';
import { generateApiKey } from '@weft/shared/crypto';
import type { FlowDefinition } from '@weft/shared/flow';
import { newId } from '@weft/shared/ids';
import { createTestServices, type TestServices } from '../helpers/services.js';

const masterKey = randomBytes(32);

function flowDef(name: string, prompt = 'Hello {{input.name}}'): FlowDefinition {
  return {
    name,
    nodes: [
      { id: 'a', type: 'llm', provider: 'openai', model: 'gpt-4o', prompt },
      { id: 'b', type: 'transform', expression: '$.nodes.a' },
    ],
    edges: [{ from: 'a', to: 'b' }],
  };
}

let svc: TestServices;
let database: WeftDatabase;
let sql: pg.Client;

beforeAll(async () => {
  svc = await createTestServices();
  database = await createDatabase({ url: svc.databaseUrl, masterKey, poolSize: 5 });
  await database.migrate();
  sql = new pg.Client({ connectionString: svc.databaseUrl });
  await sql.connect();
});

afterAll(async () => {
  await sql.end();
  await database.close();
  await svc.cleanup();
});

async function newWorkspace(name = 'ws'): Promise<{ id: string; apiKey: string }> {
  const { workspace, apiKey } = await database.repos.workspaces.create({ name });
  return { id: workspace.id, apiKey };
}

describe('database', () => {
  it('pings, and migrating again is a no-op', async () => {
    await database.ping();
    await database.migrate();
    const { rows } = await sql.query<{ n: string }>('select count(*)::text as n from drizzle.__drizzle_migrations');
    expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(1);
  });
});

describe('workspaces', () => {
  it('creates a workspace with a key that authenticates, and stores only its hash', async () => {
    const { workspace, apiKey } = await database.repos.workspaces.create({ name: 'acme' });
    expect(workspace.name).toBe('acme');
    expect(apiKey).toMatch(/^wk_[0-9A-Za-z]{32}$/);
    expect(await database.repos.workspaces.get(workspace.id)).toEqual(workspace);

    const auth = await database.repos.workspaces.authenticate(apiKey);
    expect(auth?.workspaceId).toBe(workspace.id);

    const { rows } = await sql.query<Record<string, unknown>>('select * from api_keys where workspace_id = $1', [workspace.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.prefix).toBe(apiKey.slice(0, 10));
    expect(rows[0]?.id).toBe(auth?.keyId);
    expect(JSON.stringify(rows)).not.toContain(apiKey);
  });

  it('rejects unknown, altered and malformed keys', async () => {
    const { apiKey } = await newWorkspace();
    const altered = apiKey.slice(0, -1) + (apiKey.endsWith('a') ? 'b' : 'a');
    for (const key of [generateApiKey().key, altered, '', 'wk_', 'Bearer x', apiKey + 'x']) {
      expect(await database.repos.workspaces.authenticate(key)).toBeNull();
    }
  });

  it('returns null for a missing or malformed workspace id', async () => {
    expect(await database.repos.workspaces.get(newId())).toBeNull();
    expect(await database.repos.workspaces.get('not-a-uuid')).toBeNull();
  });

  it('writes last_used_at at most once a minute', async () => {
    const { apiKey } = await newWorkspace();
    const first = await database.repos.workspaces.authenticate(apiKey);
    const read = async (): Promise<Date | null> =>
      (await sql.query<{ last_used_at: Date | null }>('select last_used_at from api_keys where id = $1', [first?.keyId])).rows[0]?.last_used_at ?? null;
    const t1 = await read();
    expect(t1).toBeInstanceOf(Date);
    await database.repos.workspaces.authenticate(apiKey);
    expect(await read()).toEqual(t1);
    await sql.query(`update api_keys set last_used_at = now() - interval '2 minutes' where id = $1`, [first?.keyId]);
    await database.repos.workspaces.authenticate(apiKey);
    const t3 = await read();
    expect(t3!.getTime()).toBeGreaterThan(Date.now() - 10_000);
  });
});

describe('credentials', () => {
  it('round trips, upserts, lists without the key, deletes', async () => {
    const ws = await newWorkspace();
    const repo = database.repos.credentials;
    await repo.put({ workspaceId: ws.id, provider: 'openai', apiKey: 'sk-test-1234567890abcd', baseUrl: null });
    expect(await repo.resolve(ws.id, 'openai')).toEqual({ apiKey: 'sk-test-1234567890abcd', baseUrl: null });

    await repo.put({ workspaceId: ws.id, provider: 'openai', apiKey: 'sk-other-key-9999', baseUrl: 'http://127.0.0.1:9/v1' });
    await repo.put({ workspaceId: ws.id, provider: 'anthropic', apiKey: 'sk-ant-xyz-4321', baseUrl: null });
    expect(await repo.resolve(ws.id, 'openai')).toEqual({ apiKey: 'sk-other-key-9999', baseUrl: 'http://127.0.0.1:9/v1' });

    const list = await repo.list(ws.id);
    expect(list.map((c) => [c.provider, c.last4, c.baseUrl])).toEqual([
      ['anthropic', '4321', null],
      ['openai', '9999', 'http://127.0.0.1:9/v1'],
    ]);
    expect(list[0]?.updatedAt).toBeInstanceOf(Date);
    expect(JSON.stringify(list)).not.toContain('sk-');

    expect(await repo.delete(ws.id, 'openai')).toBe(true);
    expect(await repo.delete(ws.id, 'openai')).toBe(false);
    expect(await repo.resolve(ws.id, 'openai')).toBeNull();
    expect(await repo.resolve(ws.id, 'gemini')).toBeNull();
  });

  it('stores AES-GCM ciphertext that does not contain the key', async () => {
    const ws = await newWorkspace();
    const apiKey = 'sk-plaintext-must-not-appear-0001';
    await database.repos.credentials.put({ workspaceId: ws.id, provider: 'gemini', apiKey, baseUrl: null });
    const { rows } = await sql.query<{ ciphertext: Buffer; iv: Buffer; tag: Buffer; key_version: number; last4: string }>(
      'select ciphertext, iv, tag, key_version, last4 from provider_credentials where workspace_id = $1', [ws.id]);
    const row = rows[0]!;
    expect(row.iv).toHaveLength(12);
    expect(row.tag).toHaveLength(16);
    expect(row.key_version).toBe(1);
    expect(row.last4).toBe('0001');
    expect(row.ciphertext.includes(Buffer.from(apiKey))).toBe(false);
    expect(row.ciphertext.includes(Buffer.from('plaintext'))).toBe(false);
  });

  it('does not decrypt a row copied to another workspace', async () => {
    const a = await newWorkspace('a');
    const b = await newWorkspace('b');
    await database.repos.credentials.put({ workspaceId: a.id, provider: 'openai', apiKey: 'sk-of-workspace-a', baseUrl: null });
    await sql.query(
      `insert into provider_credentials (workspace_id, provider, ciphertext, iv, tag, key_version, last4, base_url)
       select $2, provider, ciphertext, iv, tag, key_version, last4, base_url from provider_credentials where workspace_id = $1`,
      [a.id, b.id]);
    await expect(database.repos.credentials.resolve(b.id, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect((await database.repos.credentials.resolve(a.id, 'openai'))?.apiKey).toBe('sk-of-workspace-a');
  });

  it('fails to decrypt with another master key, and needs a key to put or resolve', async () => {
    const ws = await newWorkspace();
    await database.repos.credentials.put({ workspaceId: ws.id, provider: 'openai', apiKey: 'sk-abc-123456', baseUrl: null });
    const otherKey = await createDatabase({ url: svc.databaseUrl, masterKey: randomBytes(32), poolSize: 1 });
    const noKey = await createDatabase({ url: svc.databaseUrl, masterKey: null, poolSize: 1 });
    try {
      await expect(otherKey.repos.credentials.resolve(ws.id, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await expect(noKey.repos.credentials.resolve(ws.id, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await expect(noKey.repos.credentials.put({ workspaceId: ws.id, provider: 'gemini', apiKey: 'k', baseUrl: null }))
        .rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect((await noKey.repos.credentials.list(ws.id)).map((c) => c.provider)).toEqual(['openai']);
    } finally {
      await otherKey.close();
      await noKey.close();
    }
  });
});

describe('flows', () => {
  it('creates version 1, updates to new immutable versions, reads any version', async () => {
    const ws = await newWorkspace();
    const repo = database.repos.flows;
    const v1 = await repo.create({ workspaceId: ws.id, flow: flowDef('first') });
    expect(v1).toMatchObject({ workspaceId: ws.id, version: 1, name: 'first', edges: [{ from: 'a', to: 'b' }] });
    expect(v1.nodes).toHaveLength(2);
    expect(await repo.get({ workspaceId: ws.id, flowId: v1.id })).toEqual(v1);

    const v2 = await repo.update({ workspaceId: ws.id, flowId: v1.id, flow: flowDef('second', 'Bye') });
    expect(v2).toMatchObject({ id: v1.id, version: 2, name: 'second', createdAt: v1.createdAt });
    expect(await repo.get({ workspaceId: ws.id, flowId: v1.id })).toEqual(v2);
    expect(await repo.get({ workspaceId: ws.id, flowId: v1.id, version: 1 })).toEqual(v1);
    expect(await repo.get({ workspaceId: ws.id, flowId: v1.id, version: 3 })).toBeNull();
    expect(await repo.getVersion(v1.id, 1)).toEqual(v1);
    expect(await repo.getVersion(v1.id, 2)).toEqual(v2);
    const { rows } = await sql.query<{ name: string; latest_version: number }>('select name, latest_version from flows where id = $1', [v1.id]);
    expect(rows[0]).toEqual({ name: 'second', latest_version: 2 });
  });

  it('gives concurrent updates distinct versions', async () => {
    const ws = await newWorkspace();
    const f = await database.repos.flows.create({ workspaceId: ws.id, flow: flowDef('c') });
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => database.repos.flows.update({ workspaceId: ws.id, flowId: f.id, flow: flowDef(`c${i}`) })));
    expect(results.map((r) => r?.version).sort()).toEqual([2, 3, 4, 5, 6]);
  });

  it('soft-deletes: hidden from get, list and update; pinned versions stay readable', async () => {
    const ws = await newWorkspace();
    const repo = database.repos.flows;
    const f = await repo.create({ workspaceId: ws.id, flow: flowDef('doomed') });
    expect(await repo.delete({ workspaceId: ws.id, flowId: f.id })).toBe(true);
    expect(await repo.delete({ workspaceId: ws.id, flowId: f.id })).toBe(false);
    expect(await repo.get({ workspaceId: ws.id, flowId: f.id })).toBeNull();
    expect(await repo.update({ workspaceId: ws.id, flowId: f.id, flow: flowDef('again') })).toBeNull();
    expect((await repo.list({ workspaceId: ws.id, limit: 10 })).items).toEqual([]);
    expect(await repo.getVersion(f.id, 1)).toEqual(f);
  });

  it('is invisible to other workspaces', async () => {
    const a = await newWorkspace('a');
    const b = await newWorkspace('b');
    const repo = database.repos.flows;
    const f = await repo.create({ workspaceId: a.id, flow: flowDef('private') });
    expect(await repo.get({ workspaceId: b.id, flowId: f.id })).toBeNull();
    expect(await repo.update({ workspaceId: b.id, flowId: f.id, flow: flowDef('hijack') })).toBeNull();
    expect(await repo.delete({ workspaceId: b.id, flowId: f.id })).toBe(false);
    expect((await repo.list({ workspaceId: b.id, limit: 10 })).items).toEqual([]);
    expect((await repo.get({ workspaceId: a.id, flowId: f.id }))?.name).toBe('private');
  });

  it('returns null for malformed ids and versions', async () => {
    const ws = await newWorkspace();
    expect(await database.repos.flows.get({ workspaceId: ws.id, flowId: 'nope' })).toBeNull();
    expect(await database.repos.flows.get({ workspaceId: ws.id, flowId: newId(), version: 1.5 })).toBeNull();
    expect(await database.repos.flows.getVersion('nope', 1)).toBeNull();
    expect(await database.repos.flows.delete({ workspaceId: ws.id, flowId: 'nope' })).toBe(false);
  });

  it('lists newest first across pages with an opaque cursor', async () => {
    const ws = await newWorkspace();
    const created: Array<Awaited<ReturnType<typeof database.repos.flows.create>>> = [];
    for (let i = 0; i < 5; i++) created.push(await database.repos.flows.create({ workspaceId: ws.id, flow: flowDef(`f${i}`) }));
    await database.repos.flows.update({ workspaceId: ws.id, flowId: created[0]!.id, flow: flowDef('f0-v2') });
    const seen = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await database.repos.flows.list({ workspaceId: ws.id, limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items);
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    // Newest first by (created_at, id): flows made in the same millisecond tie on created_at and
    // are ordered by id, which is random within a millisecond.
    const expected = [...created].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
    expect(seen.map((f) => f.id)).toEqual(expected.map((f) => f.id));
    expect(seen.find((f) => f.id === created[0]!.id)).toMatchObject({ name: 'f0-v2', version: 2 });
    await expect(database.repos.flows.list({ workspaceId: ws.id, limit: 2, cursor: 'garbage' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('executions', () => {
  async function setup(): Promise<{ ws: string; flowId: string }> {
    const ws = await newWorkspace();
    const f = await database.repos.flows.create({ workspaceId: ws.id, flow: flowDef('x') });
    return { ws: ws.id, flowId: f.id };
  }

  it('creates queued executions with input and a numeric cost cap', async () => {
    const { ws, flowId } = await setup();
    const { execution, created } = await database.repos.executions.create({
      workspaceId: ws, flowId, flowVersion: 1, input: { topic: 'ducks', n: [1, 2] }, maxCostUsd: 0.25,
    });
    expect(created).toBe(true);
    expect(execution).toMatchObject({
      workspaceId: ws, flowId, flowVersion: 1, status: 'queued', input: { topic: 'ducks', n: [1, 2] },
      output: null, error: null, usage: null, cost: null, idempotencyKey: null, maxCostUsd: 0.25, startedAt: null, finishedAt: null,
    });
    expect(await database.repos.executions.get({ workspaceId: ws, executionId: execution.id })).toEqual(execution);
    expect(await database.repos.executions.getById(execution.id)).toEqual(execution);
    const other = await newWorkspace();
    expect(await database.repos.executions.get({ workspaceId: other.id, executionId: execution.id })).toBeNull();
    expect(await database.repos.executions.get({ workspaceId: ws, executionId: 'junk' })).toBeNull();
    expect(await database.repos.executions.getById(newId())).toBeNull();
  });

  it('returns the existing execution for a reused idempotency key, per workspace', async () => {
    const { ws, flowId } = await setup();
    const first = await database.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { a: 1 }, idempotencyKey: 'key-1' });
    const again = await database.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { a: 2 }, idempotencyKey: 'key-1' });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.execution.id).toBe(first.execution.id);
    expect(again.execution.input).toEqual({ a: 1 });

    const other = await setup();
    const elsewhere = await database.repos.executions.create({ workspaceId: other.ws, flowId: other.flowId, flowVersion: 1, input: null, idempotencyKey: 'key-1' });
    expect(elsewhere.created).toBe(true);
    expect(elsewhere.execution.id).not.toBe(first.execution.id);
  });

  it('creates one execution for concurrent requests with the same key', async () => {
    const { ws, flowId } = await setup();
    const results = await Promise.all(Array.from({ length: 6 }, () =>
      database.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'race' })));
    expect(new Set(results.map((r) => r.execution.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('reuses a key older than 24 h for a new execution', async () => {
    const { ws, flowId } = await setup();
    const old = await database.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'daily' });
    await sql.query(`update executions set created_at = now() - interval '25 hours' where id = $1`, [old.execution.id]);
    const fresh = await database.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'daily' });
    expect(fresh.created).toBe(true);
    expect(fresh.execution.id).not.toBe(old.execution.id);
    expect(fresh.execution.idempotencyKey).toBe('daily');
    expect((await database.repos.executions.getById(old.execution.id))?.idempotencyKey).toBeNull();
  });

  it('lists newest first over several pages, with flow and status filters', async () => {
    const { ws, flowId } = await setup();
    const f2 = await database.repos.flows.create({ workspaceId: ws, flow: flowDef('y') });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { execution } = await database.repos.executions.create({ workspaceId: ws, flowId: i % 2 === 0 ? flowId : f2.id, flowVersion: 1, input: { i } });
      ids.push(execution.id);
    }
    // Same created_at for two rows: the id breaks the tie, and no row is lost or repeated.
    await sql.query('update executions set created_at = (select created_at from executions where id = $1) where id = $2', [ids[3], ids[4]]);
    const expected = (await sql.query<{ id: string }>('select id from executions where workspace_id = $1 order by created_at desc, id desc', [ws])).rows.map((r) => r.id);
    expect(expected).toHaveLength(7);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await database.repos.executions.list({ workspaceId: ws, limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(expected);

    const byFlow = await database.repos.executions.list({ workspaceId: ws, flowId: f2.id, limit: 10 });
    expect(byFlow.items.map((e) => e.id)).toEqual(expected.filter((id) => [ids[1], ids[3], ids[5]].includes(id)));
    expect(byFlow.nextCursor).toBeNull();

    await database.repos.executions.markRunning({ executionId: ids[0]!, startedAt: new Date() });
    const running = await database.repos.executions.list({ workspaceId: ws, status: 'running', limit: 10 });
    expect(running.items.map((e) => e.id)).toEqual([ids[0]]);
    expect((await database.repos.executions.list({ workspaceId: ws, flowId: 'junk', limit: 10 })).items).toEqual([]);
    const other = await newWorkspace();
    expect((await database.repos.executions.list({ workspaceId: other.id, limit: 10 })).items).toEqual([]);
  });

  it('marks running only from queued, and finalizes idempotently', async () => {
    const { ws, flowId } = await setup();
    const { execution } = await database.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: {} });
    const startedAt = new Date('2026-01-01T00:00:00.123Z');
    await database.repos.executions.markRunning({ executionId: execution.id, startedAt });
    await database.repos.executions.markRunning({ executionId: execution.id, startedAt: new Date() });
    let row = await database.repos.executions.getById(execution.id);
    expect(row).toMatchObject({ status: 'running', startedAt });

    const final = {
      executionId: execution.id,
      status: 'completed' as const,
      output: { b: 'done' },
      error: null,
      usage: { promptTokens: 1, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, totalTokens: 3 },
      cost: { inputCost: 0.000001, outputCost: 0.00002, reasoningCost: 0, totalCost: 0.000021 },
      startedAt: null,
      finishedAt: new Date('2026-01-01T00:00:05.000Z'),
    };
    await database.repos.executions.finalize(final);
    await database.repos.executions.finalize(final);
    await database.repos.executions.markRunning({ executionId: execution.id, startedAt: new Date() });
    row = await database.repos.executions.getById(execution.id);
    expect(row).toMatchObject({ status: 'completed', output: { b: 'done' }, usage: final.usage, cost: final.cost, startedAt, finishedAt: final.finishedAt });

    await database.repos.executions.finalize({
      ...final, status: 'failed', output: null,
      error: { code: 'llm_auth', category: 'permanent', message: 'bad key', nodeId: 'a' },
    });
    expect((await database.repos.executions.getById(execution.id))?.error).toEqual({ code: 'llm_auth', category: 'permanent', message: 'bad key', nodeId: 'a' });
  });
});

describe('node runs', () => {
  async function execution(): Promise<{ ws: string; flowId: string; executionId: string }> {
    const ws = await newWorkspace();
    const f = await database.repos.flows.create({ workspaceId: ws.id, flow: flowDef('n') });
    const { execution: e } = await database.repos.executions.create({ workspaceId: ws.id, flowId: f.id, flowVersion: 1, input: null });
    return { ws: ws.id, flowId: f.id, executionId: e.id };
  }

  function run(base: { ws: string; flowId: string; executionId: string }, patch: Partial<NodeRunRow> = {}): NodeRunRow {
    return {
      executionId: base.executionId, workspaceId: base.ws, flowId: base.flowId, nodeId: 'a', iteration: 0, nodeType: 'llm',
      status: 'running', attempts: 1, input: { prompt: 'hi' }, output: null, error: null, usage: null, cost: null,
      provider: 'openai', model: 'gpt-4o', workerId: 'w1', startedAt: new Date('2026-01-01T00:00:00Z'), finishedAt: null, runtimeMs: null,
      ...patch,
    };
  }

  it('inserts, then updates on (execution, node, iteration)', async () => {
    const e = await execution();
    await database.repos.nodeRuns.upsertMany([run(e), run(e, { nodeId: 'b', nodeType: 'transform', status: 'pending', startedAt: null, provider: null, model: null })]);
    const completed = run(e, {
      status: 'completed', attempts: 2, output: 'the answer', finishedAt: new Date('2026-01-01T00:00:01.5Z'), runtimeMs: 1500,
      usage: { promptTokens: 3, completionTokens: 4, reasoningTokens: 0, cachedTokens: 0, totalTokens: 7 },
      cost: { inputCost: 0.1, outputCost: 0.2, reasoningCost: 0, totalCost: 0.3 },
    });
    await database.repos.nodeRuns.upsertMany([completed, run(e, { iteration: 1 })]);
    const rows = await database.repos.nodeRuns.listByExecution(e.executionId);
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.nodeId === 'a' && r.iteration === 0)).toEqual(completed);
    expect(rows.find((r) => r.nodeId === 'b')?.status).toBe('pending');
    expect(await database.repos.nodeRuns.listByExecution('junk')).toEqual([]);
  });

  it('keeps the last row of a key within a batch, and never regresses a completed node', async () => {
    const e = await execution();
    await database.repos.nodeRuns.upsertMany([run(e, { attempts: 1 }), run(e, { status: 'completed', attempts: 2, output: 1 })]);
    await database.repos.nodeRuns.upsertMany([run(e, { status: 'running', attempts: 3 })]);
    let [row] = await database.repos.nodeRuns.listByExecution(e.executionId);
    expect(row).toMatchObject({ status: 'completed', attempts: 2, output: 1 });

    await database.repos.nodeRuns.upsertMany([run(e, { nodeId: 'f', status: 'failed', error: { code: 'llm_timeout', category: 'transient', message: 't' } })]);
    await database.repos.nodeRuns.upsertMany([run(e, { nodeId: 'f', status: 'running', attempts: 2 })]);
    row = (await database.repos.nodeRuns.listByExecution(e.executionId)).find((r) => r.nodeId === 'f');
    expect(row).toMatchObject({ status: 'running', attempts: 2, error: null });
  });

  it('writes large batches in chunks', async () => {
    const e = await execution();
    const rows = Array.from({ length: 1200 }, (_, i) => run(e, { nodeId: `n${i}`, iteration: i % 3 }));
    await database.repos.nodeRuns.upsertMany(rows);
    await database.repos.nodeRuns.upsertMany([]);
    expect(await database.repos.nodeRuns.listByExecution(e.executionId)).toHaveLength(1200);
  });

  it("lists a node's run history newest first, within the workspace", async () => {
    const e1 = await execution();
    const { execution: second } = await database.repos.executions.create({ workspaceId: e1.ws, flowId: e1.flowId, flowVersion: 1, input: null });
    const e2 = { ...e1, executionId: second.id };
    await database.repos.nodeRuns.upsertMany([
      run(e1, { status: 'completed', finishedAt: new Date('2026-01-01T00:00:01Z') }),
      run(e2, { status: 'completed', finishedAt: new Date('2026-01-02T00:00:01Z') }),
      run(e2, { nodeId: 'b', status: 'completed', finishedAt: new Date('2026-01-03T00:00:01Z') }),
    ]);
    const history = await database.repos.nodeRuns.listByNode({ workspaceId: e1.ws, flowId: e1.flowId, nodeId: 'a', limit: 10 });
    expect(history.map((r) => r.executionId)).toEqual([e2.executionId, e1.executionId]);
    expect(await database.repos.nodeRuns.listByNode({ workspaceId: e1.ws, flowId: e1.flowId, nodeId: 'a', limit: 1 })).toHaveLength(1);
    const other = await newWorkspace();
    expect(await database.repos.nodeRuns.listByNode({ workspaceId: other.id, flowId: e1.flowId, nodeId: 'a', limit: 10 })).toEqual([]);
  });
});

describe('model pricing', () => {
  it('upserts, gets and lists prices as numbers', async () => {
    const repo = database.repos.pricing;
    const price = { provider: 'openai', model: 'gpt-4o-mini', inputPer1M: 0.15, outputPer1M: 0.6, reasoningPer1M: 0, cachedPer1M: 0.075 };
    expect(await repo.upsert(price)).toEqual(price);
    expect(await repo.get('openai', 'gpt-4o-mini')).toEqual(price);
    const updated = { ...price, inputPer1M: 0.125, outputPer1M: 1.000001 };
    expect(await repo.upsert(updated)).toEqual(updated);
    expect(await repo.get('openai', 'gpt-4o-mini')).toEqual(updated);
    await repo.upsert({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputPer1M: 3, outputPer1M: 15, reasoningPer1M: 15, cachedPer1M: 0.3 });
    expect((await repo.list()).map((p) => `${p.provider}/${p.model}`)).toEqual(expect.arrayContaining(['anthropic/claude-sonnet-4-5', 'openai/gpt-4o-mini']));
    expect(await repo.get('openai', 'nope')).toBeNull();
  });
});
