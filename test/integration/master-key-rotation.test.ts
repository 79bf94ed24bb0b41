/**
 * Master key rotation (`npm run weft -- rotate-master-key`) on a real Postgres database: every
 * credential and secret re-encrypted with the new key and a new key version, all or nothing.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateMasterKeyCommand } from '@weft/db/commands';
import { createDatabase, IN_MEMORY } from '@weft/db/database';
import { hookSecretAad, type WeftDatabase } from '@weft/db/repos';
import { hooks } from '@weft/db/schema';
import { eq } from 'drizzle-orm';
import { decryptSecret, encryptSecret, secretAad } from '@weft/shared/crypto';
import { createLogger } from '@weft/shared/logging';
import { createTestServices, type TestServices } from '../helpers/services.js';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const keyC = randomBytes(32);
const b64 = (key: Buffer): string => key.toString('base64');

let svc: TestServices;
let sql: pg.Client;
const opened: WeftDatabase[] = [];

async function open(masterKey: Buffer | null, masterKeyVersion?: number): Promise<WeftDatabase> {
  const database = await createDatabase({ url: svc.databaseUrl, masterKey, poolSize: 2, ...(masterKeyVersion === undefined ? {} : { masterKeyVersion }) });
  opened.push(database);
  return database;
}

beforeAll(async () => {
  svc = await createTestServices();
  sql = new pg.Client({ connectionString: svc.databaseUrl });
  await sql.connect();
  await (await open(null)).migrate();
});

afterAll(async () => {
  await Promise.all(opened.map((d) => d.close()));
  await sql?.end();
  await svc?.cleanup();
});

interface SealedRow {
  workspace_id: string;
  key: string;
  key_version: number;
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
}

/** Every sealed row of both tables, in a stable order. */
async function sealedRows(): Promise<SealedRow[]> {
  const { rows } = await sql.query<SealedRow>(`
    select workspace_id, 'credential:' || provider as key, key_version, ciphertext, iv, tag from provider_credentials
    union all
    select workspace_id, 'secret:' || name as key, key_version, ciphertext, iv, tag from secrets
    order by 1, 2`);
  return rows;
}

/** Secrets have no repo yet: sealed here exactly as credentials are. */
async function putSecret(input: { key: Buffer; workspaceId: string; name: string; value: string; keyVersion?: number }): Promise<void> {
  const keyVersion = input.keyVersion ?? 1;
  const sealed = encryptSecret({ masterKey: input.key, plaintext: input.value, aad: secretAad({ workspaceId: input.workspaceId, name: input.name, keyVersion }) });
  await sql.query('insert into secrets (workspace_id, name, ciphertext, iv, tag, key_version) values ($1, $2, $3, $4, $5, $6)', [
    input.workspaceId, input.name, sealed.ciphertext, sealed.iv, sealed.tag, keyVersion,
  ]);
}

async function readSecret(input: { key: Buffer; workspaceId: string; name: string }): Promise<string> {
  const { rows } = await sql.query<SealedRow>('select * from secrets where workspace_id = $1 and name = $2', [input.workspaceId, input.name]);
  const row = rows[0];
  if (!row) throw new Error(`no secret ${input.name}`);
  return decryptSecret({ masterKey: input.key, ...row, aad: secretAad({ workspaceId: input.workspaceId, name: input.name, keyVersion: row.key_version }) });
}

function capture(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: createLogger({ level: 'info', name: 'weft-cli-test', destination }), lines };
}

describe('rotate-master-key', () => {
  let ws1: string;
  let ws2: string;

  beforeAll(async () => {
    const dbA = await open(keyA);
    ws1 = (await dbA.repos.workspaces.create({ name: 'one' })).workspace.id;
    ws2 = (await dbA.repos.workspaces.create({ name: 'two' })).workspace.id;
    await dbA.repos.credentials.put({ workspaceId: ws1, provider: 'openai', apiKey: 'sk-openai-one-1111', baseUrl: null });
    await dbA.repos.credentials.put({ workspaceId: ws1, provider: 'anthropic', apiKey: 'sk-ant-one-2222', baseUrl: 'https://proxy.example/' });
    await dbA.repos.credentials.put({ workspaceId: ws2, provider: 'gemini', apiKey: 'gm-two-3333', baseUrl: null });
    await putSecret({ key: keyA, workspaceId: ws1, name: 'STRIPE', value: 'sk_live_stripe' });
  });

  it('rolls everything back when one row cannot be decrypted, and names that row', async () => {
    // Secrets are re-encrypted after the credentials: this failure comes mid-way.
    await putSecret({ key: keyA, workspaceId: ws2, name: 'BROKEN', value: 'x' });
    await sql.query(`update secrets set tag = decode(repeat('00', 16), 'hex') where name = 'BROKEN'`);
    const before = await sealedRows();
    const dbA = await open(keyA);
    const failure = dbA.repos.masterKey.rotate({ newKey: keyB });
    await expect(failure).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(failure).rejects.toThrow(/secret BROKEN of workspace/);
    expect(await sealedRows()).toEqual(before);
    expect(await dbA.repos.credentials.resolve(ws1, 'openai')).toEqual({ apiKey: 'sk-openai-one-1111', baseUrl: null });
    await sql.query(`delete from secrets where name = 'BROKEN'`);
  });

  it('refuses a missing, malformed or unchanged new key without touching the database', async () => {
    const before = await sealedRows();
    const base = { DATABASE_URL: svc.databaseUrl, WEFT_MASTER_KEY: b64(keyA) };
    for (const env of [base, { ...base, WEFT_NEW_MASTER_KEY: 'c2hvcnQ=' }, { ...base, WEFT_NEW_MASTER_KEY: b64(keyA) }, { WEFT_NEW_MASTER_KEY: b64(keyB), DATABASE_URL: svc.databaseUrl }]) {
      const { logger, lines } = capture();
      expect(await rotateMasterKeyCommand({ env, logger })).toBe(2);
      expect(lines.join('')).toContain('invalid configuration');
    }
    expect(await sealedRows()).toEqual(before);
  });

  it('re-encrypts every credential and secret with the new key and key version 2 (CLI)', async () => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: svc.databaseUrl,
      WEFT_MASTER_KEY: b64(keyA),
      WEFT_NEW_MASTER_KEY: b64(keyB),
      LOG_LEVEL: 'info',
    };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--conditions=weft-source', 'drizzle/src/cli.ts', 'rotate-master-key'],
      { env, cwd: join(import.meta.dirname, '..', '..'), timeout: 60_000 },
    );
    const summary = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).find((l) => l.keyVersion !== undefined);
    expect(summary).toMatchObject({ keyVersion: 2, credentials: 3, secrets: 1, msg: expect.stringMatching(/^master key rotated: 3 credentials and 1 secrets/) });
    expect(summary?.msg).toContain('WEFT_MASTER_KEY_VERSION=2');
    for (const key of [keyA, keyB]) expect(stdout).not.toContain(b64(key));
    expect(stdout).not.toContain('sk-openai-one-1111');

    expect((await sealedRows()).map((r) => r.key_version)).toEqual([2, 2, 2, 2]);
    const dbB = await open(keyB);
    expect(await dbB.repos.credentials.resolve(ws1, 'openai')).toEqual({ apiKey: 'sk-openai-one-1111', baseUrl: null });
    expect(await dbB.repos.credentials.resolve(ws1, 'anthropic')).toEqual({ apiKey: 'sk-ant-one-2222', baseUrl: 'https://proxy.example/' });
    expect(await dbB.repos.credentials.resolve(ws2, 'gemini')).toEqual({ apiKey: 'gm-two-3333', baseUrl: null });
    expect(await readSecret({ key: keyB, workspaceId: ws1, name: 'STRIPE' })).toBe('sk_live_stripe');
    const dbA = await open(keyA);
    await expect(dbA.repos.credentials.resolve(ws1, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(readSecret({ key: keyA, workspaceId: ws1, name: 'STRIPE' })).rejects.toThrow();
    // Listings show when a key was last set by its owner, not when it was re-encrypted.
    expect((await dbB.repos.credentials.list(ws2))[0]?.last4).toBe('3333');
  }, 90_000);

  it('opens rows of differing key versions, each with its own AAD, and lifts them all to one new version', async () => {
    // Restarted as the rotation said (WEFT_MASTER_KEY_VERSION=2): new rows carry version 2.
    const dbB = await open(keyB, 2);
    await dbB.repos.credentials.put({ workspaceId: ws2, provider: 'openai', apiKey: 'sk-openai-two-4444', baseUrl: null });
    const unlabelled = await open(keyB);
    await unlabelled.repos.credentials.put({ workspaceId: ws2, provider: 'anthropic', apiKey: 'sk-ant-two-6666', baseUrl: null });
    await putSecret({ key: keyB, workspaceId: ws2, name: 'OLD_STYLE', value: 'v7-secret', keyVersion: 7 });
    const versions = (await sql.query<{ provider: string; key_version: number }>('select provider, key_version from provider_credentials where workspace_id = $1', [ws2])).rows;
    expect(Object.fromEntries(versions.map((r) => [r.provider, r.key_version]))).toEqual({ gemini: 2, openai: 2, anthropic: 1 });
    expect(new Set((await sealedRows()).map((r) => r.key_version))).toEqual(new Set([1, 2, 7]));

    expect(await dbB.repos.masterKey.rotate({ newKey: keyC })).toEqual({ keyVersion: 8, credentials: 5, secrets: 2, hooks: 0 });
    expect((await sealedRows()).every((r) => r.key_version === 8)).toBe(true);
    const dbC = await open(keyC);
    expect(await dbC.repos.credentials.resolve(ws2, 'openai')).toEqual({ apiKey: 'sk-openai-two-4444', baseUrl: null });
    expect(await dbC.repos.credentials.resolve(ws1, 'openai')).toEqual({ apiKey: 'sk-openai-one-1111', baseUrl: null });
    expect(await readSecret({ key: keyC, workspaceId: ws2, name: 'OLD_STYLE' })).toBe('v7-secret');
    await expect(dbB.repos.credentials.resolve(ws2, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('needs the current key', async () => {
    const keyless = await open(null);
    await expect(keyless.repos.masterKey.rotate({ newKey: keyA })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('rotate-master-key on PGlite', () => {
  it('rotates inside one PGlite transaction', async () => {
    const before = await createDatabase({ dataDir: IN_MEMORY, masterKey: keyA });
    try {
      await before.migrate();
      const { workspace } = await before.repos.workspaces.create({ name: 'embedded' });
      await before.repos.credentials.put({ workspaceId: workspace.id, provider: 'openai', apiKey: 'sk-embedded-5555', baseUrl: null });
      const flow = await before.repos.flows.create({ workspaceId: workspace.id, flow: { name: 'hooked', nodes: [{ id: 'a', type: 'transform', expression: '1' }], edges: [] } });
      const hook = await before.repos.hooks.create({ workspaceId: workspace.id, flowId: flow.id, name: 'gh', headers: [], signature: { scheme: 'github', secret: 'hook-signing-secret' }, maxHooks: 10 });
      expect(await before.repos.masterKey.rotate({ newKey: keyB })).toEqual({ keyVersion: 2, credentials: 1, secrets: 0, hooks: 1 });
      await expect(before.repos.credentials.resolve(workspace.id, 'openai')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      // The hook's signing secret opens with the new key (and version) only.
      await expect(before.repos.hooks.resolve(hook?.token ?? '')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      const [row] = await before.system.select().from(hooks).where(eq(hooks.id, hook?.hook.id ?? ''));
      if (!row?.secretCiphertext || !row.secretIv || !row.secretTag) throw new Error('hook secret missing');
      expect(decryptSecret({
        masterKey: keyB, ciphertext: row.secretCiphertext, iv: row.secretIv, tag: row.secretTag,
        aad: hookSecretAad({ workspaceId: workspace.id, hookId: row.id, keyVersion: 2 }),
      })).toBe('hook-signing-secret');
    } finally {
      await before.close();
    }
  });

  it('rotates above the configured version even when no row carries it', async () => {
    const db = await createDatabase({ dataDir: IN_MEMORY, masterKey: keyA, masterKeyVersion: 5 });
    try {
      await db.migrate();
      expect(await db.repos.masterKey.rotate({ newKey: keyB })).toEqual({ keyVersion: 6, credentials: 0, secrets: 0, hooks: 0 });
    } finally {
      await db.close();
    }
  });
});
