/**
 * A statement sent as a named prepared statement on the node-postgres pool the database is built
 * over (both modes: embedded mode's PGlite is reached through one). Postgres parses and plans a
 * name once per connection; for hot statements whose text never changes (the flusher's upsert).
 */
import { is } from 'drizzle-orm';
import { NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { WeftDb, WeftSchema } from './db.js';

export async function runPrepared(db: WeftDb, query: { name: string; text: string; values: unknown[] }): Promise<pg.QueryResult> {
  const pool: unknown = is(db, NodePgDatabase) ? (db as NodePgDatabase<WeftSchema> & { $client: unknown }).$client : undefined;
  if (!(pool instanceof pg.Pool)) throw new Error('prepared statements need the database built over a pg.Pool');
  return pool.query(query);
}
