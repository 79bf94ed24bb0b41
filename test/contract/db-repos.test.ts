/**
 * The Database contract (db-repos.contract.ts) on both backends of @weft/db: Postgres through
 * node-postgres (a scratch database of this file) and PGlite in memory as embedded mode opens it
 * (on its own thread; one instance for the file: each costs seconds to start). Both are migrated
 * the way the app migrates them.
 *
 * Postgres runs twice: in the server's default collation (C here, like PGlite) and in en-US,
 * the collation of the postgres Docker image that docker-compose.yml runs (en_US.utf8, here
 * through ICU): what a list returns in must not depend on it.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { describe, inject } from 'vitest';
import { createDatabase, IN_MEMORY } from '@weft/db/database';
import { createRepos, type WeftDatabase } from '@weft/db/repos';
import { createScratchDatabase } from '../helpers/scratch.js';
import { createTestServices, uniqueId } from '../helpers/services.js';
import { dbReposContract } from './db-repos.contract.js';
import { SESSION_TIME_ZONE, type DbReposFixture } from './db-repos.fixture.js';

/** bytea arrives as a Buffer from node-postgres and as a Uint8Array from PGlite. */
function withBuffers<T extends object>(rows: readonly object[]): T[] {
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v) : v])) as T);
}

/** A scratch database on the test server: the file's own, or one in a given ICU collation. */
async function scratch(icuLocale?: string): Promise<{ url: string; cleanup(): Promise<void> }> {
  if (icuLocale === undefined) {
    const svc = await createTestServices();
    return { url: svc.databaseUrl, cleanup: () => svc.cleanup() };
  }
  const database = await createScratchDatabase(inject('databaseUrl'), `weft_t_${uniqueId(12)}`, { icuLocale });
  return { url: database.url, cleanup: () => database.drop() };
}

async function pgFixture(icuLocale?: string): Promise<DbReposFixture> {
  const db = await scratch(icuLocale);
  const url = new URL(db.url);
  url.searchParams.set('options', `-c TimeZone=${SESSION_TIME_ZONE}`);
  const masterKey = randomBytes(32);
  const opened: WeftDatabase[] = [];
  const open = async (key: Buffer | null, masterKeyVersion?: number, poolSize = 2): Promise<WeftDatabase> => {
    const database = await createDatabase({ url: url.toString(), masterKey: key, poolSize, ...(masterKeyVersion === undefined ? {} : { masterKeyVersion }) });
    opened.push(database);
    return database;
  };
  // Several connections, so that concurrent calls really run side by side.
  const database = await open(masterKey, undefined, 5);
  await database.migrate();
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    database,
    masterKey,
    async reposWith(input) {
      return (await open(input.masterKey, input.masterKeyVersion)).repos;
    },
    async query<T extends object>(text: string, params: readonly unknown[] = []) {
      return withBuffers<T>((await client.query(text, [...params])).rows as object[]);
    },
    async close() {
      await client.end();
      await Promise.all(opened.map((d) => d.close()));
      await db.cleanup();
    },
  };
}

/** LOCALE_PROVIDER needs Postgres 15; the en-US collation needs a server built with ICU. */
async function serverHasIcu(): Promise<boolean> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      `select current_setting('server_version_num')::int >= 150000 and exists (select 1 from pg_collation where collname = 'en-US-x-icu') as ok`);
    return rows[0]?.ok === true;
  } finally {
    await client.end();
  }
}

dbReposContract('pg', () => pgFixture());
if (await serverHasIcu()) dbReposContract('pg, en-US collation', () => pgFixture('en-US'));
else describe.skip('Database contract: pg, en-US collation (needs Postgres 15+ with ICU)', () => undefined);

dbReposContract('pglite', async () => {
  // As embedded mode opens it: PGlite on its own thread, reached through node-postgres.
  const masterKey = randomBytes(32);
  const database = await createDatabase({ dataDir: IN_MEMORY, masterKey });
  // PGlite has one session: the time zone holds for every connection to it.
  await database.system.execute(sql.raw(`set time zone '${SESSION_TIME_ZONE}'`));
  await database.migrate();
  const pool = (database.system as unknown as { $client: pg.Pool }).$client;
  return {
    database,
    masterKey,
    async reposWith(input) {
      return createRepos({ db: database.system, tenant: database.tenant, masterKey: input.masterKey, ...(input.masterKeyVersion === undefined ? {} : { masterKeyVersion: input.masterKeyVersion }) });
    },
    async query<T extends object>(text: string, params: readonly unknown[] = []) {
      return withBuffers<T>((await pool.query(text, [...params])).rows as object[]);
    },
    close: () => database.close(),
  } satisfies DbReposFixture;
});
