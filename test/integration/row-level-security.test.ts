/**
 * Row-level security, the second wall behind the repositories' workspace filters
 * (drizzle/migrations/0008_row_level_security.sql, drizzle/src/repos/tenant.ts), on both backends:
 * Postgres reached the way the README's DATABASE_URL reaches it (as the superuser `postgres`, which
 * RLS never stops by itself), and PGlite as embedded mode opens it. Everything goes through the
 * app's own database object: its repos, its tenant transactions, its system handle.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, IN_MEMORY, type SqlDatabase } from '@weft/db/database';
import { TENANT_ROLE, type Repos, type WeftDb } from '@weft/db/repos';
import { WeftError } from '@weft/shared/errors';
import { flowDef, nodeRun, sqlState } from '../contract/db-repos.fixture.js';
import { createTestServices, uniqueId, type TestServices } from '../helpers/services.js';

/** Tables that must be among those found: the enumeration below cannot pass by finding none. */
const KNOWN_TENANT_TABLES = [
  'api_keys', 'execution_events', 'executions', 'flows', 'hooks', 'node_runs', 'output_blobs', 'provider_credentials', 'schedule_ticks', 'schedules', 'secrets',
  'task_secret_deliveries', 'tasks', 'worker_tokens',
];

interface Seeded {
  ws: string;
  flowId: string;
  executionId: string;
}

async function rows<T>(db: WeftDb, text: string): Promise<T[]> {
  const result: unknown = await db.execute(sql.raw(text));
  return (result as { rows: T[] }).rows;
}

/** A workspace with a row in every table it can own, written through the repos. */
async function seed(repos: Repos, name: string): Promise<Seeded> {
  const { workspace } = await repos.workspaces.create({ name });
  const ws = workspace.id;
  const flow = await repos.flows.create({ workspaceId: ws, flow: flowDef(name) });
  const { execution } = await repos.executions.create({ workspaceId: ws, flowId: flow.id, flowVersion: 1, input: { name } });
  const ids = { ws, flowId: flow.id, executionId: execution.id };
  await repos.credentials.put({ workspaceId: ws, provider: 'openai', apiKey: `sk-${name}-0123456789`, baseUrl: null });
  await repos.secrets.put({ workspaceId: ws, name: 'TOKEN', value: `secret-of-${name}` });
  await repos.nodeRuns.upsertMany([nodeRun(ids, { status: 'completed', output: name, finishedAt: new Date() })]);
  await repos.events.append([{ id: `${Date.now()}-0`, type: 'execution.started', executionId: execution.id, flowId: flow.id, workspaceId: ws, at: new Date().toISOString(), data: {} }]);
  await repos.outputBlobs.insertMany([{ executionId: execution.id, blobId: randomUUID(), workspaceId: ws, size: 7, text: `"${name}"` }]);
  const schedule = await repos.schedules.create({ workspaceId: ws, flowId: flow.id, cron: '0 * * * *', timezone: 'UTC', input: { name }, maxSchedules: 10 });
  if (!schedule) throw new Error('schedule not created');
  await repos.schedules.recordTick({ workspaceId: ws, scheduleId: schedule.id, tickAt: new Date(), outcome: 'started', reason: null, executionId: execution.id, keep: 10 });
  await repos.hooks.create({ workspaceId: ws, flowId: flow.id, name, headers: [], signature: { scheme: 'github', secret: `hook-secret-${name}` }, maxHooks: 10 });
  const worker = await repos.workerTokens.create({ workspaceId: ws, name, handlers: ['h.x'], maxTokens: 10 });
  await repos.tasks.enqueue({
    id: randomUUID(), workspaceId: ws, executionId: execution.id, flowId: flow.id, flowVersion: 1, nodeId: 't', handler: 'h.x', queue: null,
    input: { name }, secretNames: ['TOKEN'], maxAttempts: 1, backoff: null, heartbeatTimeoutMs: 60_000, nodeStartedAt: new Date().toISOString(),
  });
  // The claim records the secret delivery (task_secret_deliveries).
  await repos.tasks.claim({ workspaceId: ws, handlers: ['h.x'], workerTokenId: worker?.token.id ?? randomUUID(), leaseId: randomUUID() });
  return ids;
}

/** Tables with a workspace_id column, from information_schema: the list grows with the schema. */
async function workspaceTables(db: WeftDb): Promise<string[]> {
  const found = await rows<{ t: string }>(db, `
    select c.table_name as t from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and c.column_name = 'workspace_id' and t.table_type = 'BASE TABLE'
    order by 1`);
  return found.map((r) => r.t);
}

/** Every table the tenant role holds a privilege on. */
async function tenantTouchableTables(db: WeftDb): Promise<string[]> {
  const found = await rows<{ t: string }>(db, `
    select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')
      and has_table_privilege('${TENANT_ROLE}', c.oid, 'SELECT, INSERT, UPDATE, DELETE')
    order by 1`);
  return found.map((r) => r.t);
}

async function countAll(db: WeftDb, table: string, where = ''): Promise<number> {
  const [row] = await rows<{ n: number }>(db, `select count(*)::int as n from "${table}" ${where}`);
  return row?.n ?? -1;
}

/** `fn` in a transaction as the tenant role, with the workspace setting as given (absent: never set). */
async function asTenantRoleWithout<T>(db: WeftDb, setting: string | null, fn: (tx: WeftDb) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local role ${TENANT_ROLE}`));
    if (setting !== null) await tx.execute(sql`select set_config('weft.workspace_id', ${setting}, true)`);
    return fn(tx);
  });
}

function isolationViolation(err: unknown): boolean {
  return err instanceof WeftError && err.code === 'TENANT_ISOLATION_VIOLATION' && sqlState(err.cause) === '42501';
}

interface Backend {
  database: SqlDatabase;
  close(): Promise<void>;
}

function rowLevelSecuritySuite(kind: 'pg' | 'pglite', open: () => Promise<Backend>): void {
  describe(`row-level security: ${kind}`, () => {
    let backend: Backend;
    let database: SqlDatabase;
    let a: Seeded;
    let b: Seeded;
    beforeAll(async () => {
      backend = await open();
      database = backend.database;
      await database.migrate();
      a = await seed(database.repos, `a${uniqueId()}`);
      b = await seed(database.repos, `b${uniqueId()}`);
    });
    afterAll(async () => {
      await backend?.close();
    });

    it('forces row-level security with a tenant policy on every table with a workspace_id, and on every table the tenant role can touch', async () => {
      const withWorkspace = await workspaceTables(database.system);
      expect(withWorkspace).toEqual(expect.arrayContaining(KNOWN_TENANT_TABLES));
      const touchable = await tenantTouchableTables(database.system);
      expect(touchable).toEqual(expect.arrayContaining(['workspaces', 'flow_versions', ...KNOWN_TENANT_TABLES]));
      const tables = [...new Set([...withWorkspace, ...touchable])];
      const status = await rows<{ t: string; rls: boolean; forced: boolean; policies: number }>(database.system, `
        select c.relname as t, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
          (select count(*)::int from pg_policies p where p.schemaname = n.nspname and p.tablename = c.relname and '${TENANT_ROLE}' = any(p.roles)) as policies
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relname in (${tables.map((t) => `'${t}'`).join(', ')})`);
      expect(status.map((s) => s.t).sort()).toEqual([...tables].sort());
      for (const s of status) expect({ table: s.t, rls: s.rls, forced: s.forced, hasTenantPolicy: s.policies >= 1 }).toEqual({ table: s.t, rls: true, forced: true, hasTenantPolicy: true });
      // A role that is neither superuser nor exempt from RLS, so the policies bind it.
      expect(await rows(database.system, `select rolsuper, rolbypassrls from pg_roles where rolname = '${TENANT_ROLE}'`)).toEqual([{ rolsuper: false, rolbypassrls: false }]);
    });

    it('shows the tenant role no row of any tenant table when no workspace is set, or an empty one, while rows exist', async () => {
      const tables = [...new Set([...await workspaceTables(database.system), 'workspaces', 'flow_versions'])];
      for (const table of tables) expect({ table, n: await countAll(database.system, table) > 0 }).toEqual({ table, n: true });
      for (const setting of [null, '']) {
        const seen = await asTenantRoleWithout(database.system, setting, async (tx) => {
          const counts: Record<string, number> = {};
          for (const table of tables) counts[table] = await countAll(tx, table);
          const [changed] = await rows<{ n: number }>(tx, `with u as (update executions set status = status returning 1) select count(*)::int as n from u`);
          counts['updated executions'] = changed?.n ?? -1;
          return counts;
        });
        expect(seen).toEqual(Object.fromEntries([...tables, 'updated executions'].map((t) => [t, 0])));
      }
    });

    it("keeps workspace B's rows from A's tenant transaction, even for statements with no workspace filter", async () => {
      const tables = [...await workspaceTables(database.system)];
      const expected: Record<string, number> = {};
      for (const table of tables) expected[table] = await countAll(database.system, table, `where workspace_id = '${a.ws}'`);
      expected.workspaces = 1;
      expected.flow_versions = await countAll(database.system, 'flow_versions', `where flow_id = '${a.flowId}'`);
      const seen = await database.tenant(a.ws, async (tx) => {
        const counts: Record<string, number> = {};
        for (const table of Object.keys(expected)) counts[table] = await countAll(tx, table);
        return counts;
      });
      expect(seen).toEqual(expected);
      for (const table of tables) expect({ table, own: expected[table]! > 0 }).toEqual({ table, own: true });

      const touched = await database.tenant(a.ws, async (tx) => ({
        readB: await countAll(tx, 'executions', `where workspace_id = '${b.ws}'`),
        updatedB: (await rows(tx, `update executions set status = 'failed' where workspace_id = '${b.ws}' returning id`)).length,
        deletedB: (await rows(tx, `delete from secrets where workspace_id = '${b.ws}' returning name`)).length,
        renamedB: (await rows(tx, `update workspaces set name = 'taken' where id = '${b.ws}' returning id`)).length,
      }));
      expect(touched).toEqual({ readB: 0, updatedB: 0, deletedB: 0, renamedB: 0 });
      expect((await database.repos.executions.get({ workspaceId: b.ws, executionId: b.executionId }))?.status).toBe('queued');
      expect(await database.repos.secrets.resolveMany(b.ws, ['TOKEN'])).toEqual({ TOKEN: expect.stringMatching(/^secret-of-b/) });

      // Writing a row into B, or moving one of A's there, is refused (WITH CHECK), and nothing stays.
      const inserted = await database.tenant(a.ws, (tx) => tx.execute(sql.raw(
        `insert into flows (id, workspace_id, name, latest_version, created_at, updated_at) values (gen_random_uuid(), '${b.ws}', 'forged', 1, now(), now())`))).catch((err: unknown) => err);
      expect(isolationViolation(inserted)).toBe(true);
      const moved = await database.tenant(a.ws, (tx) => tx.execute(sql.raw(`update executions set workspace_id = '${b.ws}' where workspace_id = '${a.ws}'`))).catch((err: unknown) => err);
      expect(isolationViolation(moved)).toBe(true);
      expect(await countAll(database.system, 'flows', `where name = 'forged'`)).toBe(0);
      expect((await database.repos.executions.get({ workspaceId: a.ws, executionId: a.executionId }))?.workspaceId).toBe(a.ws);
    });

    it("runs the repos' workspace methods under the tenant policy, and the engine's system methods outside it", async () => {
      const calls = async () => ({
        execution: (await database.repos.executions.get({ workspaceId: a.ws, executionId: a.executionId }))?.id ?? null,
        executions: (await database.repos.executions.list({ workspaceId: a.ws, limit: 10 })).items.length,
        live: (await database.repos.executions.countLive(a.ws)).queued,
        ids: (await database.repos.executions.listIdsByWorkspace({ workspaceId: a.ws, limit: 10 })).length,
        flow: (await database.repos.flows.get({ workspaceId: a.ws, flowId: a.flowId }))?.id ?? null,
        flows: (await database.repos.flows.list({ workspaceId: a.ws, limit: 10 })).items.length,
        credentials: (await database.repos.credentials.list(a.ws)).length,
        credential: (await database.repos.credentials.resolve(a.ws, 'openai')) !== null,
        secrets: (await database.repos.secrets.list(a.ws)).length,
        secretValues: Object.keys(await database.repos.secrets.resolveMany(a.ws, ['TOKEN'])).length,
        apiKeys: (await database.repos.workspaces.listApiKeys(a.ws)).length,
        workspace: (await database.repos.workspaces.get(a.ws))?.id ?? null,
        settings: (await database.repos.workspaces.getSettings(a.ws)) !== null,
        runsByNode: (await database.repos.nodeRuns.listByNode({ workspaceId: a.ws, flowId: a.flowId, nodeId: 'a', limit: 10 })).length,
        latest: (await database.repos.nodeRuns.latestCompleted({ workspaceId: a.ws, flowId: a.flowId, nodeIds: ['a'] })).size,
      });
      const system = async () => ({
        byId: (await database.repos.executions.getById(a.executionId))?.id ?? null,
        runs: (await database.repos.nodeRuns.listByExecution(a.executionId)).length,
        version: (await database.repos.flows.getVersion(a.flowId, 1))?.id ?? null,
        events: (await database.repos.events.list(a.executionId)).length,
      });
      const open = await calls();
      expect(open).toEqual({
        execution: a.executionId, executions: 1, live: 1, ids: 1, flow: a.flowId, flows: 1, credentials: 1, credential: true, secrets: 1,
        secretValues: 1, apiKeys: 1, workspace: a.ws, settings: true, runsByNode: 1, latest: 1,
      });
      const systemOpen = await system();
      expect(systemOpen).toEqual({ byId: a.executionId, runs: 1, version: a.flowId, events: 1 });

      // A restrictive policy that refuses everything to the tenant role: each workspace method now
      // finds nothing although its own filters match, so its statements did go through the policy.
      const tables = [...new Set([...await workspaceTables(database.system), 'workspaces', 'flow_versions'])];
      const deny = (verb: 'create' | 'drop') => Promise.all(tables.map((t) => database.system.execute(sql.raw(verb === 'create'
        ? `create policy test_deny on "${t}" as restrictive for all to ${TENANT_ROLE} using (false)`
        : `drop policy test_deny on "${t}"`))));
      await deny('create');
      try {
        expect(await calls()).toEqual({
          execution: null, executions: 0, live: 0, ids: 0, flow: null, flows: 0, credentials: 0, credential: false, secrets: 0,
          secretValues: 0, apiKeys: 0, workspace: null, settings: false, runsByNode: 0, latest: 0,
        });
        expect(await system()).toEqual(systemOpen);
        const write = await database.repos.flows.create({ workspaceId: a.ws, flow: flowDef('refused') }).catch((err: unknown) => err);
        expect(isolationViolation(write)).toBe(true);
      } finally {
        await deny('drop');
      }
      expect(await calls()).toEqual(open);
    });

    it("writes starts in one statement under the tenant policy, only while the flow is live and its version current, and never into another workspace", async () => {
      const { repos } = database;
      const flow = await repos.flows.create({ workspaceId: a.ws, flow: flowDef(`start${uniqueId()}`) });
      // Quotes, backslashes, non-ASCII and a large float cross the inlined literal unchanged.
      const input = { s: "it's \\ a \"quote\" é 😀\n", list: [1.5e300, -0, null, true], nested: { "k'ey": '\\x00' } };
      const [started] = await repos.executions.createIfFlowCurrent(a.ws, [{ flowId: flow.id, flowVersion: 1, latest: true, input, maxCostUsd: 0.25 }]);
      expect(started).toMatchObject({ workspaceId: a.ws, flowId: flow.id, flowVersion: 1, status: 'queued', input, maxCostUsd: 0.25, idempotencyKey: null });
      const stored = await repos.executions.get({ workspaceId: a.ws, executionId: started?.id ?? '' });
      expect(stored).toEqual({ ...started, input: JSON.parse(JSON.stringify(input)) as unknown });

      const before = await countAll(database.system, 'executions');
      const start = (over: Partial<{ flowVersion: number; latest: boolean }> = {}) => ({ flowId: flow.id, flowVersion: 1, latest: true, input: null, ...over });
      // Version 2: a start of the latest at 1 fails its check, and so does a pinned version that
      // does not exist; the others in the same statement pass.
      await repos.flows.update({ workspaceId: a.ws, flowId: flow.id, flow: flowDef(flow.name, 'v2') });
      const batch = await repos.executions.createIfFlowCurrent(a.ws, [start(), start({ latest: false }), start({ flowVersion: 2 }), start({ flowVersion: 3, latest: false })]);
      expect(batch.map((row) => row?.flowVersion ?? null)).toEqual([null, 1, 2, null]);
      // Another workspace's flow is invisible under its policy.
      expect(await repos.executions.createIfFlowCurrent(b.ws, [start({ flowVersion: 2 }), start({ flowVersion: 2, latest: false })])).toEqual([null, null]);
      // A deleted flow starts nothing, pinned or not.
      await repos.flows.delete({ workspaceId: a.ws, flowId: flow.id });
      expect(await repos.executions.createIfFlowCurrent(a.ws, [start({ flowVersion: 2 }), start({ latest: false })])).toEqual([null, null]);
      expect(await countAll(database.system, 'executions')).toBe(before + 2);

      // The one-shot itself runs as the tenant role: a row of B written in A's context is refused.
      const foreign = `insert into executions (id, workspace_id, flow_id, flow_version, status) values ('${randomUUID()}', '${b.ws}', '${b.flowId}', 1, 'queued')`;
      await expect(database.tenant.oneShot(a.ws, foreign)).rejects.toSatisfy(isolationViolation);
      expect((await database.tenant.oneShot(a.ws, 'update executions set updated_at = now()')).affected).toBe(await countAll(database.system, 'executions', `where workspace_id = '${a.ws}'`));
    });

    it('refuses a workspace id that is not a uuid before it reaches SQL', async () => {
      await expect(database.tenant(`${a.ws}'; reset role; --`, (tx) => countAll(tx, 'executions'))).rejects.toThrow(/uuid/);
      await expect(database.repos.credentials.list('not-a-uuid')).rejects.toThrow(/uuid/);
    });

    it('leaves no role or workspace on the connection after a tenant transaction, whether it commits or fails', async () => {
      const session = async () => (await rows<{ role: string; ws: string | null }>(database.system,
        `select current_user as role, nullif(current_setting('weft.workspace_id', true), '') as ws`))[0];
      const connecting = await session();
      expect(connecting?.role).not.toBe(TENANT_ROLE);
      expect(connecting?.ws).toBeNull();

      const inside = await database.tenant(a.ws, async (tx) => (await rows<{ role: string; ws: string }>(tx,
        `select current_user as role, current_setting('weft.workspace_id', true) as ws`))[0]);
      expect(inside).toEqual({ role: TENANT_ROLE, ws: a.ws });
      expect(await session()).toEqual(connecting);

      await expect(database.tenant(a.ws, () => Promise.reject(new Error('the callback failed')))).rejects.toThrow('the callback failed');
      expect(await session()).toEqual(connecting);
      // A one-shot's SET LOCALs end with its implicit transaction, committed or failed.
      await database.tenant.oneShot(a.ws, 'select 1');
      expect(await session()).toEqual(connecting);
      await expect(database.tenant.oneShot(a.ws, 'select * from no_such_table')).rejects.toThrow();
      expect(await session()).toEqual(connecting);
      await expect(database.tenant(a.ws, (tx) => tx.execute(sql.raw('select * from no_such_table')))).rejects.toThrow();
      expect(await session()).toEqual(connecting);
      // A nested transaction is a savepoint inside the tenant transaction, not a COMMIT of it.
      const nested = await database.tenant(a.ws, async (tx) => {
        await tx.transaction(async (inner) => { await countAll(inner, 'executions'); });
        return (await rows<{ role: string }>(tx, 'select current_user as role'))[0]?.role;
      });
      expect(nested).toBe(TENANT_ROLE);
      expect(await session()).toEqual(connecting);
    });
  });
}

let svc: TestServices | undefined;
afterAll(async () => {
  await svc?.cleanup();
});

async function testServices(): Promise<TestServices> {
  svc ??= await createTestServices();
  return svc;
}

rowLevelSecuritySuite('pg', async () => {
  const database = await createDatabase({ url: (await testServices()).databaseUrl, masterKey: randomBytes(32), poolSize: 3 });
  return { database, close: () => database.close() };
});

rowLevelSecuritySuite('pglite', async () => {
  const database = await createDatabase({ dataDir: IN_MEMORY, masterKey: randomBytes(32) });
  return { database, close: () => database.close() };
});

/** `fn`'s result, and the query texts sent on the first connection it checks out of `pool`. */
async function sentOnFirstCheckout<T>(pool: pg.Pool, fn: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
  const sent: string[] = [];
  let recorded: pg.PoolClient | undefined;
  pool.once('acquire', (client: pg.PoolClient) => {
    recorded = client;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    // An own property over the prototype's method, deleted afterwards.
    Object.assign(client, {
      query: (...args: unknown[]) => {
        const first = args[0];
        sent.push(typeof first === 'string' ? first : String((first as { text?: unknown }).text));
        return query(...args);
      },
    });
  });
  try {
    return { result: await fn(), sent };
  } finally {
    if (recorded) delete (recorded as { query?: unknown }).query;
  }
}

describe('row-level security: tenant transactions on a node-postgres pool', () => {
  let database: SqlDatabase;
  let pool: pg.Pool;
  let a: Seeded;
  let b: Seeded;
  beforeAll(async () => {
    // One connection: every tenant transaction and every system statement takes the same one.
    database = await createDatabase({ url: (await testServices()).databaseUrl, masterKey: randomBytes(32), poolSize: 1 });
    await database.migrate();
    pool = (database.system as unknown as { $client: pg.Pool }).$client;
    a = await seed(database.repos, `a${uniqueId()}`);
    b = await seed(database.repos, `b${uniqueId()}`);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('hands the next user of a pooled connection neither the role nor the workspace', async () => {
    const probe = "select pg_backend_pid() as pid, current_user as role, nullif(current_setting('weft.workspace_id', true), '') as ws";
    const [before] = await rows<{ pid: number; role: string; ws: string | null }>(database.system, probe);
    const [inside] = await database.tenant(a.ws, (tx) => rows<{ pid: number; role: string; ws: string }>(tx, probe));
    // Side by side, both waiting for the one connection.
    const [tenantCall, [after]] = await Promise.all([
      database.repos.executions.get({ workspaceId: b.ws, executionId: b.executionId }),
      rows<{ pid: number; role: string; ws: string | null }>(database.system, probe),
    ]);
    expect(tenantCall?.id).toBe(b.executionId);
    expect(inside).toEqual({ pid: before?.pid, role: TENANT_ROLE, ws: a.ws });
    expect(after).toEqual(before);
    expect(before?.ws).toBeNull();
  });

  it('sends BEGIN, the role and the workspace in one round trip: a one-statement call costs three', async () => {
    const { sent } = await sentOnFirstCheckout(pool, () => database.repos.executions.get({ workspaceId: a.ws, executionId: a.executionId }));
    expect(sent).toHaveLength(3);
    expect(sent[0]).toBe(`begin; set local role ${TENANT_ROLE}; select set_config('weft.workspace_id', '${a.ws}', true)`);
    expect(sent[1]).toMatch(/^select .* from "executions"/);
    expect(sent[2]).toBe('commit');
  });

  it('sends a one-shot as one simple query: the role, the workspace and the statement in one round trip', async () => {
    // Its own workspace: the other tests here count a's and b's executions.
    const c = await seed(database.repos, `c${uniqueId()}`);
    const { result: started, sent } = await sentOnFirstCheckout(pool, () => database.repos.executions.createIfFlowCurrent(c.ws, [
      { flowId: c.flowId, flowVersion: 1, latest: true, input: { n: 1 } },
      { flowId: c.flowId, flowVersion: 1, latest: true, input: { n: 2 } },
    ]));
    expect(started.map((row) => row?.input)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(new RegExp(`^set local role ${TENANT_ROLE}; select set_config\\('weft.workspace_id', '${c.ws}', true\\); insert into executions `));
  });

  it('keeps concurrent tenant transactions of two workspaces apart on a shared pool', async () => {
    const own = { [a.ws]: a.executionId, [b.ws]: b.executionId };
    const seen = await Promise.all(Array.from({ length: 40 }, (_, i) => {
      const ws = i % 2 === 0 ? a.ws : b.ws;
      return database.tenant(ws, async (tx) => ({ ws, ids: (await rows<{ id: string }>(tx, 'select id from executions')).map((r) => r.id) }));
    }));
    for (const { ws, ids } of seen) expect(ids).toEqual([own[ws]]);
  });
});

describe('row-level security: a connecting role that owns the database but is no superuser', () => {
  const role = `weft_owner_${uniqueId()}`;
  let admin: pg.Client;
  let dbName: string;
  let database: SqlDatabase | undefined;
  beforeAll(async () => {
    const base = (await testServices()).databaseUrl;
    admin = new pg.Client({ connectionString: base });
    await admin.connect();
    dbName = `${new URL(base).pathname.slice(1)}_owner`;
    await admin.query(`create role ${role} login createrole`);
    await admin.query(`create database ${dbName} owner ${role}`);
  });
  afterAll(async () => {
    await database?.close();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.query(`drop role if exists ${role}`);
    await admin.end();
  });

  it('migrates with CREATEROLE alone, isolates workspaces, and lets the system context see every row under FORCE', async () => {
    const url = new URL((await testServices()).databaseUrl);
    url.username = role;
    url.pathname = `/${dbName}`;
    database = await createDatabase({ url: url.toString(), masterKey: randomBytes(32), poolSize: 2 });
    await database.migrate();
    const [me] = await rows<{ super: boolean; owner: boolean }>(database.system,
      `select rolsuper as super, (select relowner = r.oid from pg_class where relname = 'executions') as owner from pg_roles r where rolname = current_user`);
    expect(me).toEqual({ super: false, owner: true });

    const a = await seed(database.repos, 'a');
    const b = await seed(database.repos, 'b');
    expect(await database.tenant(a.ws, (tx) => countAll(tx, 'executions'))).toBe(1);
    expect(await database.repos.executions.get({ workspaceId: a.ws, executionId: b.executionId })).toBeNull();
    // The owner is bound by FORCE too; its membership of weft_system is what lets the engine in.
    expect(await countAll(database.system, 'executions')).toBe(2);
    expect((await database.repos.executions.listQueuedBefore({ before: new Date(Date.now() + 60_000), limit: 10 })).map((e) => e.id).sort())
      .toEqual([a.executionId, b.executionId].sort());
    expect((await database.repos.executions.getById(b.executionId))?.id).toBe(b.executionId);
  });
});
