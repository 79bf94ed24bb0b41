/**
 * Database contract, sealed rows: provider credentials, workspace secrets and the rotation of
 * the master key that seals them (AES-256-GCM, AAD binding workspace, name and key version).
 * Rotation re-seals every row of the database: a test that forges a row removes it again.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DbReposSuite } from './db-repos.fixture.js';

const VALUE = 'tok-VERY-secret-9f8e7d6c5b4a';

interface SealedRow {
  workspace_id: string;
  key: string;
  key_version: number;
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
}

export function sealedContract(s: DbReposSuite): void {
  /** Every sealed row of both tables, in a stable order. */
  async function sealedRows(): Promise<SealedRow[]> {
    return s.fx.query<SealedRow>(`
      select workspace_id::text, 'credential:' || provider as key, key_version, ciphertext, iv, tag from provider_credentials
      union all
      select workspace_id::text, 'secret:' || name as key, key_version, ciphertext, iv, tag from secrets
      order by 1, 2`);
  }

  describe('credentials', () => {
    it('round trips, upserts, lists without the key, deletes', async () => {
      const ws = await s.newWorkspace();
      const repo = s.repos.credentials;
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
      const ws = await s.newWorkspace();
      const apiKey = 'sk-plaintext-must-not-appear-0001';
      await s.repos.credentials.put({ workspaceId: ws.id, provider: 'gemini', apiKey, baseUrl: null });
      const rows = await s.fx.query<{ ciphertext: Buffer; iv: Buffer; tag: Buffer; key_version: number; last4: string }>(
        'select ciphertext, iv, tag, key_version, last4 from provider_credentials where workspace_id = $1', [ws.id]);
      const row = rows[0]!;
      expect(Buffer.isBuffer(row.ciphertext)).toBe(true);
      expect(row.iv).toHaveLength(12);
      expect(row.tag).toHaveLength(16);
      expect(row.key_version).toBe(1);
      expect(row.last4).toBe('0001');
      expect(row.ciphertext.includes(Buffer.from(apiKey))).toBe(false);
      expect(row.ciphertext.includes(Buffer.from('plaintext'))).toBe(false);
    });

    it('does not decrypt a row copied to another workspace', async () => {
      const a = await s.newWorkspace('a');
      const b = await s.newWorkspace('b');
      await s.repos.credentials.put({ workspaceId: a.id, provider: 'openai', apiKey: 'sk-of-workspace-a', baseUrl: null });
      await s.fx.query(
        `insert into provider_credentials (workspace_id, provider, ciphertext, iv, tag, key_version, last4, base_url)
         select $2, provider, ciphertext, iv, tag, key_version, last4, base_url from provider_credentials where workspace_id = $1`,
        [a.id, b.id]);
      try {
        await expect(s.repos.credentials.resolve(b.id, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
        expect((await s.repos.credentials.resolve(a.id, 'openai'))?.apiKey).toBe('sk-of-workspace-a');
      } finally {
        // The forged row would (rightly) stop a master key rotation of this database.
        await s.fx.query('delete from provider_credentials where workspace_id = $1', [b.id]);
      }
    });

    it('fails to decrypt with another master key, and needs a key to put or resolve', async () => {
      const ws = await s.newWorkspace();
      await s.repos.credentials.put({ workspaceId: ws.id, provider: 'openai', apiKey: 'sk-abc-123456', baseUrl: null });
      const otherKey = await s.fx.reposWith({ masterKey: randomBytes(32) });
      const noKey = await s.fx.reposWith({ masterKey: null });
      await expect(otherKey.credentials.resolve(ws.id, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await expect(noKey.credentials.resolve(ws.id, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await expect(noKey.credentials.put({ workspaceId: ws.id, provider: 'gemini', apiKey: 'k', baseUrl: null }))
        .rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect((await noKey.credentials.list(ws.id)).map((c) => c.provider)).toEqual(['openai']);
      expect(await noKey.credentials.delete(ws.id, 'openai')).toBe(true);
      expect(await s.repos.credentials.list(ws.id)).toEqual([]);
    });

    it('labels new rows with the configured key version, and opens each row with its own version', async () => {
      const ws = await s.newWorkspace();
      const v3 = await s.fx.reposWith({ masterKey: s.fx.masterKey, masterKeyVersion: 3 });
      await v3.credentials.put({ workspaceId: ws.id, provider: 'openai', apiKey: 'sk-v3-3333', baseUrl: null });
      await v3.secrets.put({ workspaceId: ws.id, name: 'V3', value: 'three' });
      const versions = await s.fx.query<{ key_version: number }>(
        `select key_version from provider_credentials where workspace_id = $1 union all select key_version from secrets where workspace_id = $1`, [ws.id]);
      expect(versions.map((r) => r.key_version)).toEqual([3, 3]);
      expect(await s.repos.credentials.resolve(ws.id, 'openai')).toEqual({ apiKey: 'sk-v3-3333', baseUrl: null });
      expect(await s.repos.secrets.resolveMany(ws.id, ['V3'])).toEqual({ V3: 'three' });
    });

    it('keeps one row when the same credential is put concurrently', async () => {
      const ws = await s.newWorkspace();
      const keys = Array.from({ length: 6 }, (_, i) => `sk-concurrent-000${i}`);
      await Promise.all(keys.map((apiKey) => s.repos.credentials.put({ workspaceId: ws.id, provider: 'openai', apiKey, baseUrl: null })));
      const list = await s.repos.credentials.list(ws.id);
      expect(list).toHaveLength(1);
      const resolved = await s.repos.credentials.resolve(ws.id, 'openai');
      expect(keys).toContain(resolved?.apiKey);
      expect(resolved?.apiKey.slice(-4)).toBe(list[0]?.last4);
    });
  });

  describe('secrets', () => {
    it('round trips, replaces, lists names only and deletes', async () => {
      const ws = (await s.newWorkspace()).id;
      const repo = s.repos.secrets;
      await repo.put({ workspaceId: ws, name: 'TOKEN', value: VALUE });
      await repo.put({ workspaceId: ws, name: 'OTHER', value: 'ünïcode ✓ 😀' });
      expect(await repo.resolveMany(ws, ['TOKEN', 'OTHER', 'MISSING'])).toEqual({ TOKEN: VALUE, OTHER: 'ünïcode ✓ 😀' });
      expect(await repo.resolveMany(ws, ['TOKEN', 'TOKEN'])).toEqual({ TOKEN: VALUE });
      expect(await repo.resolveMany(ws, [])).toEqual({});

      const before = await repo.list(ws);
      expect(before.map((x) => x.name)).toEqual(['OTHER', 'TOKEN']);
      expect(Object.keys(before[0] ?? {}).sort()).toEqual(['name', 'updatedAt']);
      expect(before[0]?.updatedAt).toBeInstanceOf(Date);

      await repo.put({ workspaceId: ws, name: 'TOKEN', value: `${VALUE}-2` });
      expect(await repo.resolveMany(ws, ['TOKEN'])).toEqual({ TOKEN: `${VALUE}-2` });
      expect((await repo.list(ws)).map((x) => x.name)).toEqual(['OTHER', 'TOKEN']);

      expect(await repo.delete(ws, 'TOKEN')).toBe(true);
      expect(await repo.delete(ws, 'TOKEN')).toBe(false);
      expect(await repo.resolveMany(ws, ['TOKEN'])).toEqual({});
      expect((await repo.list(ws)).map((x) => x.name)).toEqual(['OTHER']);
    });

    it('stores only ciphertext: the value is in no column', async () => {
      const ws = (await s.newWorkspace()).id;
      await s.repos.secrets.put({ workspaceId: ws, name: 'API_KEY', value: VALUE });
      const [row] = await s.fx.query<{ ciphertext: Buffer; iv: Buffer; tag: Buffer; key_version: number; row: string }>(
        'select ciphertext, iv, tag, key_version, s::text as row from secrets s where workspace_id = $1', [ws]);
      expect(row?.iv).toHaveLength(12);
      expect(row?.tag).toHaveLength(16);
      expect(row?.key_version).toBe(1);
      expect(row?.ciphertext.toString('utf8')).not.toContain(VALUE);
      expect(row?.ciphertext.toString('latin1')).not.toContain(VALUE);
      expect(row?.row).not.toContain(VALUE);
      expect(row?.row).not.toContain(Buffer.from(VALUE).toString('hex'));
    });

    it('isolates workspaces: same names, separate values, and a copied row does not decrypt', async () => {
      const a = (await s.newWorkspace('a')).id;
      const b = (await s.newWorkspace('b')).id;
      await s.repos.secrets.put({ workspaceId: a, name: 'TOKEN', value: 'value-of-a' });
      expect(await s.repos.secrets.resolveMany(b, ['TOKEN'])).toEqual({});
      expect(await s.repos.secrets.list(b)).toEqual([]);
      expect(await s.repos.secrets.delete(b, 'TOKEN')).toBe(false);
      expect(await s.repos.secrets.resolveMany(a, ['TOKEN'])).toEqual({ TOKEN: 'value-of-a' });

      await s.fx.query(
        `insert into secrets (workspace_id, name, ciphertext, iv, tag, key_version)
         select $2, name, ciphertext, iv, tag, key_version from secrets where workspace_id = $1`, [a, b]);
      try {
        await expect(s.repos.secrets.resolveMany(b, ['TOKEN'])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
        expect(await s.repos.secrets.resolveMany(a, ['TOKEN'])).toEqual({ TOKEN: 'value-of-a' });
      } finally {
        await s.fx.query('delete from secrets where workspace_id = $1', [b]);
      }
    });

    it('keeps a secret named __proto__ as a plain entry, and refuses bad names', async () => {
      const ws = (await s.newWorkspace()).id;
      await s.repos.secrets.put({ workspaceId: ws, name: '__proto__', value: 'p' });
      const resolved = await s.repos.secrets.resolveMany(ws, ['__proto__']);
      expect(Object.hasOwn(resolved, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
      await expect(s.repos.secrets.put({ workspaceId: ws, name: 'bad-name', value: 'x' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      expect((await s.repos.secrets.list(ws)).map((x) => x.name)).toEqual(['__proto__']);
    });

    it('needs the master key to put or resolve, not to list or delete', async () => {
      const ws = (await s.newWorkspace()).id;
      await s.repos.secrets.put({ workspaceId: ws, name: 'KEPT', value: 'v' });
      const noKey = await s.fx.reposWith({ masterKey: null });
      await expect(noKey.secrets.put({ workspaceId: ws, name: 'NEW', value: 'v' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await expect(noKey.secrets.resolveMany(ws, ['KEPT'])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      const otherKey = await s.fx.reposWith({ masterKey: randomBytes(32) });
      await expect(otherKey.secrets.resolveMany(ws, ['KEPT'])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect((await noKey.secrets.list(ws)).map((x) => x.name)).toEqual(['KEPT']);
      expect(await noKey.secrets.delete(ws, 'KEPT')).toBe(true);
    });
  });

  describe('master key rotation', () => {
    it('re-seals every credential and secret with the new key and one new version, and back again', async () => {
      const ws = (await s.newWorkspace()).id;
      await s.repos.credentials.put({ workspaceId: ws, provider: 'anthropic', apiKey: 'sk-ant-rotate-2222', baseUrl: 'https://proxy.example/' });
      await s.repos.secrets.put({ workspaceId: ws, name: 'ROTATED', value: 'before rotation' });
      const before = await sealedRows();
      const highest = Math.max(1, ...before.map((r) => r.key_version));

      const newKey = randomBytes(32);
      const rotation = await s.repos.masterKey.rotate({ newKey });
      expect(rotation).toEqual({
        keyVersion: highest + 1,
        credentials: before.filter((r) => r.key.startsWith('credential:')).length,
        secrets: before.filter((r) => r.key.startsWith('secret:')).length,
        hooks: 0,
      });
      const after = await sealedRows();
      expect(after.map((r) => r.key)).toEqual(before.map((r) => r.key));
      expect(after.every((r) => r.key_version === rotation.keyVersion)).toBe(true);
      // Re-sealed: a fresh IV for every row. (Not the ciphertext alone: a one-character secret's
      // ciphertext is one byte, equal again once in 256 re-seals.)
      expect(after.every((r, i) => !r.iv.equals(before[i]!.iv))).toBe(true);

      const rotated = await s.fx.reposWith({ masterKey: newKey, masterKeyVersion: rotation.keyVersion });
      expect(await rotated.credentials.resolve(ws, 'anthropic')).toEqual({ apiKey: 'sk-ant-rotate-2222', baseUrl: 'https://proxy.example/' });
      expect(await rotated.secrets.resolveMany(ws, ['ROTATED'])).toEqual({ ROTATED: 'before rotation' });
      await expect(s.repos.credentials.resolve(ws, 'anthropic')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await expect(s.repos.secrets.resolveMany(ws, ['ROTATED'])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      // Listings show what the owner set, not the re-sealing.
      expect((await rotated.credentials.list(ws))[0]?.last4).toBe('2222');

      // Back to the suite's key, so that the other tests' rows open again.
      expect((await rotated.masterKey.rotate({ newKey: s.fx.masterKey })).keyVersion).toBe(rotation.keyVersion + 1);
      expect(await s.repos.credentials.resolve(ws, 'anthropic')).toEqual({ apiKey: 'sk-ant-rotate-2222', baseUrl: 'https://proxy.example/' });
      expect(await s.repos.secrets.resolveMany(ws, ['ROTATED'])).toEqual({ ROTATED: 'before rotation' });
    });

    it('rolls everything back when one row cannot be decrypted, and names that row', async () => {
      const ws = (await s.newWorkspace()).id;
      // Secrets are re-sealed after the credentials: this failure comes mid-way.
      await s.repos.credentials.put({ workspaceId: ws, provider: 'openai', apiKey: 'sk-openai-keep-1111', baseUrl: null });
      await s.repos.secrets.put({ workspaceId: ws, name: 'BROKEN', value: 'x' });
      await s.fx.query(`update secrets set tag = decode(repeat('00', 16), 'hex') where workspace_id = $1 and name = 'BROKEN'`, [ws]);
      try {
        const before = await sealedRows();
        const failure = s.repos.masterKey.rotate({ newKey: randomBytes(32) });
        await expect(failure).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
        await expect(failure).rejects.toThrow(/secret BROKEN of workspace/);
        expect(await sealedRows()).toEqual(before);
        expect(await s.repos.credentials.resolve(ws, 'openai')).toEqual({ apiKey: 'sk-openai-keep-1111', baseUrl: null });
        // The rolled-back transaction left the connection usable.
        await s.repos.credentials.put({ workspaceId: ws, provider: 'gemini', apiKey: 'gm-after-0000', baseUrl: null });
        expect((await s.repos.credentials.list(ws)).map((c) => c.provider)).toEqual(['gemini', 'openai']);
      } finally {
        await s.fx.query(`delete from secrets where workspace_id = $1 and name = 'BROKEN'`, [ws]);
      }
    });

    it('refuses a missing current key, a malformed or an unchanged new key, without touching a row', async () => {
      const ws = (await s.newWorkspace()).id;
      await s.repos.secrets.put({ workspaceId: ws, name: 'UNTOUCHED', value: 'v' });
      const before = await sealedRows();
      const keyless = await s.fx.reposWith({ masterKey: null });
      await expect(keyless.masterKey.rotate({ newKey: randomBytes(32) })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      for (const newKey of [randomBytes(31), Buffer.alloc(0), Buffer.from(s.fx.masterKey)]) {
        await expect(s.repos.masterKey.rotate({ newKey })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      }
      expect(await sealedRows()).toEqual(before);
    });

    it('rotates above the configured version even when no row carries it', async () => {
      const before = await sealedRows();
      const highest = Math.max(1, ...before.map((r) => r.key_version));
      const v40 = await s.fx.reposWith({ masterKey: s.fx.masterKey, masterKeyVersion: highest + 40 });
      const newKey = randomBytes(32);
      const rotation = await v40.masterKey.rotate({ newKey });
      expect(rotation.keyVersion).toBe(highest + 41);
      const back = await s.fx.reposWith({ masterKey: newKey, masterKeyVersion: rotation.keyVersion });
      expect((await back.masterKey.rotate({ newKey: s.fx.masterKey })).keyVersion).toBe(highest + 42);
    });
  });
}
