/**
 * The node-postgres pool the database is built over (both modes: embedded mode's PGlite is
 * reached through one), for what drizzle's builder does not do: tenant transactions in one round
 * trip (tenant.ts) and named prepared statements of SQL text written by hand (the flusher's
 * `unnest` upsert). A statement drizzle builds is prepared with its own `.prepare(name)`.
 */
import { is } from 'drizzle-orm';
import { NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { WeftDb, WeftSchema } from './db.js';

export function pgPoolOf(db: WeftDb): pg.Pool {
  const pool: unknown = is(db, NodePgDatabase) ? (db as NodePgDatabase<WeftSchema> & { $client: unknown }).$client : undefined;
  if (!(pool instanceof pg.Pool)) throw new Error('the database must be built over a node-postgres pg.Pool');
  return pool;
}

/**
 * A statement sent as a named prepared statement: Postgres parses and plans a name once per
 * connection. For hot statements whose text never changes (the flusher's upsert).
 */
export async function runPrepared(db: WeftDb, query: { name: string; text: string; values: unknown[] }): Promise<pg.QueryResult> {
  return pgPoolOf(db).query(query);
}
