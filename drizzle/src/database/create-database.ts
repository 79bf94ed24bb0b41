import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { createRepos } from '../repos/create-repos.js';
import type { WeftDb } from '../repos/db.js';
import { createTenantScope, type TenantScope } from '../repos/tenant.js';
import type { WeftDatabase } from '../repos/types.js';
import * as schema from '../schema/index.js';
import { startPgliteThread, type PgliteThreadLogger } from './pglite-thread.js';

/** `drizzle/migrations`, from `src/database/` and from `dist/database/` alike. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Any value; only needs to be the same for every Weft process sharing a database. */
const MIGRATION_LOCK_KEY = 0x77656674; // 'weft'

/** PGlite's in-memory data dir. */
export const IN_MEMORY = 'memory://';

export interface PostgresOptions {
  url: string;
  /** Null when WEFT_MASTER_KEY is absent: credential put/resolve then throw, the rest works. */
  masterKey: Buffer | null;
  /** The version rows sealed with `masterKey` carry (WEFT_MASTER_KEY_VERSION); default 1. */
  masterKeyVersion?: number;
  poolSize?: number;
  logger?: { warn(obj: object, msg: string): void };
}

export interface PgliteOptions {
  /** A folder (created when missing), or `memory://` for a throwaway in-memory database. */
  dataDir: string;
  masterKey: Buffer | null;
  masterKeyVersion?: number;
  logger?: PgliteThreadLogger;
}

export type CreateDatabaseOptions = PostgresOptions | PgliteOptions;

/** The database with the two ways in its repos use (docs/architecture.md, "Row-level security"). */
export interface SqlDatabase extends WeftDatabase {
  /** Statements as the connecting role: the system context of engine-internal paths. */
  system: WeftDb;
  /** One transaction as the tenant role in a workspace, where row-level security applies. */
  tenant: TenantScope;
  /** Embedded mode: the id of the worker thread PGlite runs on. */
  threadId?: number;
}

/** The database of distributed mode (node-postgres pool) or of embedded mode (PGlite). */
export async function createDatabase(options: CreateDatabaseOptions): Promise<SqlDatabase> {
  return 'url' in options ? createPostgresDatabase(options) : createPgliteDatabase(options);
}

function createPostgresDatabase(options: PostgresOptions): SqlDatabase {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
  return poolDatabase('pg', pool, options, async () => { await pool.end(); });
}

/**
 * Connections of embedded mode to its PGlite thread. PGlite runs one statement at a time
 * whatever the number; more than one lets the thread find the next batch waiting as it
 * finishes one, instead of idling while the event loop gets round to sending it, and lets a
 * lone statement (the flusher's) queue there beside the start transactions rather than wait
 * for one of them to hand its connection back. 12 measured 1.5x the starts and flushed rows
 * of 4 under a start storm; a connection costs nothing while idle.
 */
export const PGLITE_CONNECTIONS = 12;

/**
 * PGlite on a worker thread of its own (pglite-host.ts), reached through node-postgres over
 * MessagePorts: its WASM never blocks the event loop, and the repos, the tenant scope and the
 * migrator are distributed mode's. Closing ends the connections, then PGlite, then the thread.
 */
async function createPgliteDatabase(options: PgliteOptions): Promise<SqlDatabase> {
  const inMemory = options.dataDir === IN_MEMORY || options.dataDir.startsWith(IN_MEMORY);
  if (!inMemory) await mkdir(options.dataDir, { recursive: true });
  const thread = await startPgliteThread(options.dataDir, options.logger);
  const pool = new pg.Pool({ max: PGLITE_CONNECTIONS, stream: () => thread.connect() });
  return poolDatabase('pglite', pool, options, async () => {
    try {
      await pool.end();
    } finally {
      await thread.close();
    }
  }, thread.threadId);
}

function poolDatabase(
  kind: SqlDatabase['kind'],
  pool: pg.Pool,
  options: { masterKey: Buffer | null; masterKeyVersion?: number | undefined; logger?: { warn(obj: object, msg: string): void } | undefined },
  end: () => Promise<void>,
  threadId?: number,
): SqlDatabase {
  // An idle client losing its connection emits 'error' on the pool; unhandled, it would crash the process.
  pool.on('error', (err) => {
    options.logger?.warn({ err, kind }, 'database pool client error');
  });
  const db = drizzlePg(pool, { schema });
  const tenant = createTenantScope(db);
  let closed = false;
  return {
    kind,
    system: db,
    tenant,
    ...(threadId === undefined ? {} : { threadId }),
    repos: createRepos({ db, tenant, masterKey: options.masterKey, ...(options.masterKeyVersion === undefined ? {} : { masterKeyVersion: options.masterKeyVersion }) }),
    async migrate() {
      const client = await pool.connect();
      try {
        // api and worker may start together: one migrates, the others wait and find nothing to do.
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
        } finally {
          await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        }
      } finally {
        client.release();
      }
    },
    async ping() {
      await db.execute(sql`select 1`);
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      if (closed) return;
      closed = true;
      await end();
    },
  };
}
