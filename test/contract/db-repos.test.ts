/**
 * The Database contract (db-repos.contract.ts) on both backends of @weft/db: Postgres through
 * node-postgres (a scratch database of this file) and PGlite in memory (one instance for the
 * file: each costs seconds to start). Both are migrated the way the app migrates them.
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { createDatabase, MIGRATIONS_FOLDER } from '@weft/db/database';
import { createRepos, type WeftDatabase } from '@weft/db/repos';
import * as schema from '@weft/db/schema';
import { createTestServices } from '../helpers/services.js';
import { dbReposContract } from './db-repos.contract.js';
import { SESSION_TIME_ZONE, type DbReposFixture } from './db-repos.fixture.js';

/** bytea arrives as a Buffer from node-postgres and as a Uint8Array from PGlite. */
function withBuffers<T extends object>(rows: readonly object[]): T[] {
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v) : v])) as T);
}

dbReposContract('pg', async () => {
  const svc = await createTestServices();
  const url = new URL(svc.databaseUrl);
  url.searchParams.set('options', `-c TimeZone=${SESSION_TIME_ZONE}`);
  const masterKey = randomBytes(32);
  const opened: WeftDatabase[] = [];
  const open = async (key: Buffer | null, masterKeyVersion?: number): Promise<WeftDatabase> => {
    const database = await createDatabase({ url: url.toString(), masterKey: key, poolSize: 2, ...(masterKeyVersion === undefined ? {} : { masterKeyVersion }) });
    opened.push(database);
    return database;
  };
  const database = await open(masterKey);
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
      await svc.cleanup();
    },
  } satisfies DbReposFixture;
});

dbReposContract('pglite', async () => {
  // As createDatabase({dataDir}) builds it, but keeping the client, for raw SQL and for repos with other keys.
  const client = await PGlite.create();
  await client.exec(`set time zone '${SESSION_TIME_ZONE}'`);
  const db = drizzle(client, { schema });
  const masterKey = randomBytes(32);
  const database: WeftDatabase = {
    kind: 'pglite',
    repos: createRepos({ db, masterKey }),
    async migrate() {
      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
  await database.migrate();
  return {
    database,
    masterKey,
    async reposWith(input) {
      return createRepos({ db, masterKey: input.masterKey, ...(input.masterKeyVersion === undefined ? {} : { masterKeyVersion: input.masterKeyVersion }) });
    },
    async query<T extends object>(text: string, params: readonly unknown[] = []) {
      return withBuffers<T>((await client.query(text, [...params])).rows as object[]);
    },
    close: () => database.close(),
  } satisfies DbReposFixture;
});
