/**
 * The Database contract: every backend of @weft/db (node-postgres for distributed mode, PGlite
 * for embedded mode) runs the same suite over the same repos (db-repos.test.ts). A difference
 * between them is a bug of embedded mode. Split by repo area:
 *   db-repos.contract.ts             the database, workspaces, API keys and settings
 *   db-repos.sealed.contract.ts      credentials, secrets and master key rotation
 *   db-repos.flows.contract.ts       flows, versions and executions
 *   db-repos.node-runs.contract.ts   node runs and model pricing
 *   db-repos.values.contract.ts      where the backends could differ: numerics, jsonb, time,
 *                                    constraint violations and rollbacks
 *   db-repos.tasks.contract.ts       external tasks and worker tokens
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '@weft/db/database';
import { generateApiKey } from '@weft/shared/crypto';
import { newId } from '@weft/shared/ids';
import { flowsContract } from './db-repos.flows.contract.js';
import type { DbReposFixture, DbReposSuite } from './db-repos.fixture.js';
import { flowDef } from './db-repos.fixture.js';
import { nodeRunsContract } from './db-repos.node-runs.contract.js';
import { sealedContract } from './db-repos.sealed.contract.js';
import { tasksContract } from './db-repos.tasks.contract.js';
import { valuesContract } from './db-repos.values.contract.js';

/** Registers the whole suite; `makeFixture` runs once, in beforeAll, and gives a migrated database. */
export function dbReposContract(name: string, makeFixture: () => Promise<DbReposFixture>): void {
  describe(`Database contract: ${name}`, () => {
    let fixture: DbReposFixture | undefined;
    beforeAll(async () => {
      fixture = await makeFixture();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    const suite: DbReposSuite = {
      get fx() {
        if (!fixture) throw new Error('the database fixture is made in beforeAll');
        return fixture;
      },
      get repos() {
        return this.fx.database.repos;
      },
      async newWorkspace(wsName = 'ws') {
        const { workspace, apiKey } = await this.repos.workspaces.create({ name: wsName });
        return { id: workspace.id, apiKey };
      },
      async newExecution() {
        const ws = await this.newWorkspace();
        const flow = await this.repos.flows.create({ workspaceId: ws.id, flow: flowDef('n') });
        const { execution } = await this.repos.executions.create({ workspaceId: ws.id, flowId: flow.id, flowVersion: 1, input: null });
        return { ws: ws.id, flowId: flow.id, executionId: execution.id };
      },
    };

    databaseContract(suite);
    workspacesContract(suite);
    sealedContract(suite);
    flowsContract(suite);
    nodeRunsContract(suite);
    valuesContract(suite);
    tasksContract(suite);
  });
}

function databaseContract(s: DbReposSuite): void {
  describe('database', () => {
    it('pings, has applied every committed migration, and migrating again is a no-op', async () => {
      const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as { entries: unknown[] };
      const count = async (): Promise<number> =>
        Number((await s.fx.query<{ n: string }>('select count(*)::text as n from drizzle.__drizzle_migrations'))[0]?.n);
      await s.fx.database.ping();
      expect(await count()).toBe(journal.entries.length);
      await s.fx.database.migrate();
      expect(await count()).toBe(journal.entries.length);
      const tables = await s.fx.query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = 'public' order by table_name`);
      expect(tables.map((t) => t.table_name)).toEqual([
        'api_keys', 'execution_events', 'executions', 'flow_versions', 'flows', 'hooks', 'model_pricing', 'node_runs', 'output_blobs', 'provider_credentials',
        'schedule_ticks', 'schedules', 'secrets', 'task_secret_deliveries', 'tasks', 'worker_tokens', 'workspaces',
      ]);
    });
  });
}

function workspacesContract(s: DbReposSuite): void {
  describe('workspaces and API keys', () => {
    it('creates a workspace with a key that authenticates, and stores only its hash', async () => {
      const { workspace, apiKey } = await s.repos.workspaces.create({ name: 'acme' });
      expect(workspace.name).toBe('acme');
      expect(apiKey).toMatch(/^wk_[0-9A-Za-z]{32}$/);
      expect(await s.repos.workspaces.get(workspace.id)).toEqual(workspace);

      const auth = await s.repos.workspaces.authenticate(apiKey);
      expect(auth?.workspaceId).toBe(workspace.id);

      const rows = await s.fx.query<{ id: string; prefix: string }>('select * from api_keys where workspace_id = $1', [workspace.id]);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.prefix).toBe(apiKey.slice(0, 10));
      expect(rows[0]?.id).toBe(auth?.keyId);
      expect(JSON.stringify(rows)).not.toContain(apiKey);
    });

    it('rejects unknown, altered and malformed keys', async () => {
      const { apiKey } = await s.newWorkspace();
      const altered = apiKey.slice(0, -1) + (apiKey.endsWith('a') ? 'b' : 'a');
      for (const key of [generateApiKey().key, altered, '', 'wk_', 'Bearer x', apiKey + 'x']) {
        expect(await s.repos.workspaces.authenticate(key)).toBeNull();
      }
    });

    it('returns null for a missing or malformed workspace id', async () => {
      expect(await s.repos.workspaces.get(newId())).toBeNull();
      expect(await s.repos.workspaces.get('not-a-uuid')).toBeNull();
    });

    it('records a key\'s last use only when the recorded one is older than the bound', async () => {
      const { apiKey } = await s.newWorkspace();
      const first = await s.repos.workspaces.authenticate(apiKey);
      expect(first?.lastUsedAt).toBeNull();
      const keyId = first?.keyId ?? '';
      const read = async (): Promise<Date | null> =>
        (await s.fx.query<{ last_used_at: Date | null }>('select last_used_at from api_keys where id = $1', [keyId]))[0]?.last_used_at ?? null;
      const t1 = new Date();
      await s.repos.workspaces.touchApiKey({ keyId, at: t1, staleBefore: new Date(t1.getTime() - 60_000) });
      expect((await read())?.getTime()).toBe(t1.getTime());
      expect((await s.repos.workspaces.authenticate(apiKey))?.lastUsedAt?.getTime()).toBe(t1.getTime());
      // A use within the minute is not written.
      await s.repos.workspaces.touchApiKey({ keyId, at: new Date(t1.getTime() + 1000), staleBefore: new Date(t1.getTime() - 59_000) });
      expect((await read())?.getTime()).toBe(t1.getTime());
      // One after it is.
      const t2 = new Date(t1.getTime() + 61_000);
      await s.repos.workspaces.touchApiKey({ keyId, at: t2, staleBefore: new Date(t2.getTime() - 60_000) });
      expect((await read())?.getTime()).toBe(t2.getTime());
    });

    it('creates, lists and revokes keys within their workspace only, never the last one', async () => {
      const a = await s.newWorkspace();
      const b = await s.newWorkspace();
      const created = await s.repos.workspaces.createApiKey({ workspaceId: a.id, name: 'ci', maxKeys: 10 });
      expect(created?.apiKey).toMatch(/^wk_[0-9A-Za-z]{32}$/);
      expect((await s.repos.workspaces.authenticate(created?.apiKey ?? ''))?.workspaceId).toBe(a.id);
      const listed = await s.repos.workspaces.listApiKeys(a.id);
      expect(listed.map((k) => k.name)).toEqual(['default', 'ci']);
      expect(JSON.stringify(listed)).not.toContain(created?.apiKey);
      expect(await s.repos.workspaces.listApiKeys(b.id)).toHaveLength(1);
      const keyId = created?.key.id ?? '';
      expect(await s.repos.workspaces.revokeApiKey({ workspaceId: b.id, keyId })).toBe('missing');
      expect(await s.repos.workspaces.revokeApiKey({ workspaceId: a.id, keyId })).toBe('revoked');
      expect(await s.repos.workspaces.authenticate(created?.apiKey ?? '')).toBeNull();
      const [last] = await s.repos.workspaces.listApiKeys(a.id);
      expect(await s.repos.workspaces.revokeApiKey({ workspaceId: a.id, keyId: last?.id ?? '' })).toBe('last');
      expect(await s.repos.workspaces.authenticate(a.apiKey)).not.toBeNull();
    });

    it('refuses a key beyond the workspace\'s limit', async () => {
      const a = await s.newWorkspace();
      expect(await s.repos.workspaces.createApiKey({ workspaceId: a.id, name: 'two', maxKeys: 2 })).not.toBeNull();
      await expect(s.repos.workspaces.createApiKey({ workspaceId: a.id, name: 'three', maxKeys: 2 })).rejects.toMatchObject({ code: 'API_KEY_LIMIT_REACHED' });
    });

    it('marks a workspace deleting: its keys go at once, it mints none, and purge deletes what it owns', async () => {
      const a = await s.newWorkspace();
      const b = await s.newWorkspace();
      expect(await s.repos.workspaces.purge(a.id)).toBe(false);
      expect(await s.repos.workspaces.markDeleting(a.id)).toBe(true);
      expect(await s.repos.workspaces.markDeleting(a.id)).toBe(true);
      expect(await s.repos.workspaces.markDeleting(newId())).toBe(false);
      expect(await s.repos.workspaces.authenticate(a.apiKey)).toBeNull();
      expect(await s.repos.workspaces.get(a.id)).toBeNull();
      expect(await s.repos.workspaces.createApiKey({ workspaceId: a.id, name: 'late', maxKeys: 10 })).toBeNull();
      expect(await s.repos.workspaces.listDeleting()).toContain(a.id);
      expect(await s.repos.workspaces.purge(a.id)).toBe(true);
      expect(await s.repos.workspaces.listDeleting()).not.toContain(a.id);
      expect(await s.fx.query('select id from workspaces where id = $1', [a.id])).toHaveLength(0);
      expect(await s.repos.workspaces.authenticate(b.apiKey)).not.toBeNull();
    });

    it('authenticates each key of concurrent workspaces to its own workspace', async () => {
      const created = await Promise.all(Array.from({ length: 5 }, (_, i) => s.repos.workspaces.create({ name: `c${i}` })));
      expect(new Set(created.map((c) => c.workspace.id)).size).toBe(5);
      const auths = await Promise.all(created.map((c) => s.repos.workspaces.authenticate(c.apiKey)));
      expect(auths.map((a) => a?.workspaceId)).toEqual(created.map((c) => c.workspace.id));
    });
  });

  describe('workspace settings', () => {
    it('default to no private networks, and update', async () => {
      const ws = (await s.newWorkspace()).id;
      const repo = s.repos.workspaces;
      const off = { httpAllowPrivateNetworks: false, fallbackPrice: null };
      const on = { httpAllowPrivateNetworks: true, fallbackPrice: null };
      expect(await repo.getSettings(ws)).toEqual(off);
      expect(await repo.updateSettings({ workspaceId: ws, patch: { httpAllowPrivateNetworks: true } })).toEqual(on);
      expect(await repo.getSettings(ws)).toEqual(on);
      expect(await repo.updateSettings({ workspaceId: ws, patch: {} })).toEqual(on);
      expect(await repo.updateSettings({ workspaceId: ws, patch: { httpAllowPrivateNetworks: false } })).toEqual(off);
      const other = (await s.newWorkspace()).id;
      expect(await repo.getSettings(other)).toEqual(off);
    });

    it('keep a fallback price, set and cleared apart from the other settings', async () => {
      const ws = (await s.newWorkspace()).id;
      const repo = s.repos.workspaces;
      const fallbackPrice = { inputPer1M: 1.5, outputPer1M: 6, reasoningPer1M: 6, cachedPer1M: 0.25 };
      expect(await repo.updateSettings({ workspaceId: ws, patch: { fallbackPrice } })).toEqual({ httpAllowPrivateNetworks: false, fallbackPrice });
      expect(await repo.updateSettings({ workspaceId: ws, patch: { httpAllowPrivateNetworks: true } })).toEqual({ httpAllowPrivateNetworks: true, fallbackPrice });
      expect(await repo.updateSettings({ workspaceId: ws, patch: { fallbackPrice: null } })).toEqual({ httpAllowPrivateNetworks: true, fallbackPrice: null });
    });

    it('answer null for an unknown or malformed workspace id', async () => {
      const repo = s.repos.workspaces;
      expect(await repo.getSettings(newId())).toBeNull();
      expect(await repo.getSettings('not-a-uuid')).toBeNull();
      expect(await repo.updateSettings({ workspaceId: newId(), patch: { httpAllowPrivateNetworks: true } })).toBeNull();
      expect(await repo.updateSettings({ workspaceId: 'not-a-uuid', patch: { httpAllowPrivateNetworks: true } })).toBeNull();
    });
  });
}
