/**
 * SecretsRepo and the workspace settings on a real Postgres database (a fresh one for this file).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../database/index.js';
import type { WeftDatabase } from './types.js';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';

const masterKey = randomBytes(32);
const VALUE = 'tok-VERY-secret-9f8e7d6c5b4a';

let svc: TestServices;
let database: WeftDatabase;
let sql: pg.Client;

beforeAll(async () => {
  svc = await createTestServices();
  database = await createDatabase({ url: svc.databaseUrl, masterKey, poolSize: 3 });
  await database.migrate();
  sql = new pg.Client({ connectionString: svc.databaseUrl });
  await sql.connect();
});

afterAll(async () => {
  await sql?.end();
  await database?.close();
  await svc?.cleanup();
});

async function newWorkspace(name = 'ws'): Promise<string> {
  const { workspace } = await database.repos.workspaces.create({ name });
  return workspace.id;
}

describe('secrets repo', () => {
  it('round trips, replaces, lists names only and deletes', async () => {
    const ws = await newWorkspace();
    const repo = database.repos.secrets;
    await repo.put({ workspaceId: ws, name: 'TOKEN', value: VALUE });
    await repo.put({ workspaceId: ws, name: 'OTHER', value: 'ünïcode ✓' });
    expect(await repo.resolveMany(ws, ['TOKEN', 'OTHER', 'MISSING'])).toEqual({ TOKEN: VALUE, OTHER: 'ünïcode ✓' });
    expect(await repo.resolveMany(ws, [])).toEqual({});

    const before = await repo.list(ws);
    expect(before.map((s) => s.name)).toEqual(['OTHER', 'TOKEN']);
    expect(Object.keys(before[0] ?? {}).sort()).toEqual(['name', 'updatedAt']);
    expect(before[0]?.updatedAt).toBeInstanceOf(Date);

    await repo.put({ workspaceId: ws, name: 'TOKEN', value: `${VALUE}-2` });
    expect(await repo.resolveMany(ws, ['TOKEN'])).toEqual({ TOKEN: `${VALUE}-2` });
    expect((await repo.list(ws)).map((s) => s.name)).toEqual(['OTHER', 'TOKEN']);

    expect(await repo.delete(ws, 'TOKEN')).toBe(true);
    expect(await repo.delete(ws, 'TOKEN')).toBe(false);
    expect(await repo.resolveMany(ws, ['TOKEN'])).toEqual({});
    expect((await repo.list(ws)).map((s) => s.name)).toEqual(['OTHER']);
  });

  it('stores only ciphertext: the value is in no column', async () => {
    const ws = await newWorkspace();
    await database.repos.secrets.put({ workspaceId: ws, name: 'API_KEY', value: VALUE });
    const { rows } = await sql.query<{ ciphertext: Buffer; iv: Buffer; tag: Buffer; key_version: number; row: string }>(
      'select ciphertext, iv, tag, key_version, s::text as row from secrets s where workspace_id = $1',
      [ws],
    );
    const [row] = rows;
    expect(row?.iv).toHaveLength(12);
    expect(row?.tag).toHaveLength(16);
    expect(row?.key_version).toBe(1);
    expect(row?.ciphertext.toString('utf8')).not.toContain(VALUE);
    expect(row?.ciphertext.toString('latin1')).not.toContain(VALUE);
    expect(row?.row).not.toContain(VALUE);
    expect(row?.row).not.toContain(Buffer.from(VALUE).toString('hex'));
  });

  it('isolates workspaces: same names, separate values, and a copied row does not decrypt', async () => {
    const a = await newWorkspace('a');
    const b = await newWorkspace('b');
    await database.repos.secrets.put({ workspaceId: a, name: 'TOKEN', value: 'value-of-a' });
    expect(await database.repos.secrets.resolveMany(b, ['TOKEN'])).toEqual({});
    expect(await database.repos.secrets.list(b)).toEqual([]);
    expect(await database.repos.secrets.delete(b, 'TOKEN')).toBe(false);
    expect(await database.repos.secrets.resolveMany(a, ['TOKEN'])).toEqual({ TOKEN: 'value-of-a' });

    await sql.query(
      `insert into secrets (workspace_id, name, ciphertext, iv, tag, key_version)
       select $2, name, ciphertext, iv, tag, key_version from secrets where workspace_id = $1`,
      [a, b],
    );
    await expect(database.repos.secrets.resolveMany(b, ['TOKEN'])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(await database.repos.secrets.resolveMany(a, ['TOKEN'])).toEqual({ TOKEN: 'value-of-a' });
    // The forged row would (rightly) stop a later master key rotation.
    await sql.query('delete from secrets where workspace_id = $1', [b]);
  });

  it('keeps a secret named __proto__ as a plain entry, and refuses bad names', async () => {
    const ws = await newWorkspace();
    await database.repos.secrets.put({ workspaceId: ws, name: '__proto__', value: 'p' });
    const resolved = await database.repos.secrets.resolveMany(ws, ['__proto__']);
    expect(Object.hasOwn(resolved, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
    await expect(database.repos.secrets.put({ workspaceId: ws, name: 'bad-name', value: 'x' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('is rotated with the master key', async () => {
    const ws = await newWorkspace();
    await database.repos.secrets.put({ workspaceId: ws, name: 'ROTATED', value: 'before rotation' });
    const newKey = randomBytes(32);
    const rotation = await database.repos.masterKey.rotate({ newKey });
    expect(rotation.secrets).toBeGreaterThanOrEqual(1);
    const rotated = await createDatabase({ url: svc.databaseUrl, masterKey: newKey, poolSize: 1 });
    try {
      expect(await rotated.repos.secrets.resolveMany(ws, ['ROTATED'])).toEqual({ ROTATED: 'before rotation' });
    } finally {
      await rotated.close();
    }
    // Rotation happened under this file's database only; the old key no longer opens the rows.
    await expect(database.repos.secrets.resolveMany(ws, ['ROTATED'])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('workspace settings', () => {
  it('default to no private networks, and update', async () => {
    const ws = await newWorkspace();
    const repo = database.repos.workspaces;
    expect(await repo.getSettings(ws)).toEqual({ httpAllowPrivateNetworks: false });
    expect(await repo.updateSettings({ workspaceId: ws, patch: { httpAllowPrivateNetworks: true } })).toEqual({ httpAllowPrivateNetworks: true });
    expect(await repo.getSettings(ws)).toEqual({ httpAllowPrivateNetworks: true });
    expect(await repo.updateSettings({ workspaceId: ws, patch: {} })).toEqual({ httpAllowPrivateNetworks: true });
    const other = await newWorkspace();
    expect(await repo.getSettings(other)).toEqual({ httpAllowPrivateNetworks: false });
  });

  it('answer null for an unknown or malformed workspace id', async () => {
    const repo = database.repos.workspaces;
    expect(await repo.getSettings('0190d7a0-0000-7000-8000-000000000000')).toBeNull();
    expect(await repo.getSettings('not-a-uuid')).toBeNull();
    expect(await repo.updateSettings({ workspaceId: '0190d7a0-0000-7000-8000-000000000000', patch: { httpAllowPrivateNetworks: true } })).toBeNull();
  });
});
