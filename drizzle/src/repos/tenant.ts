import { createTableRelationsHelpers, extractTablesRelationalConfig, type ExtractTablesWithRelations, type RelationalSchemaConfig } from 'drizzle-orm';
import { NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { WeftError } from '@weft/shared/errors';
import { isUuid } from '@weft/shared/ids';
import * as schema from '../schema/index.js';
import type { WeftDb, WeftSchema } from './db.js';
import { pgPoolOf } from './prepared.js';
import { sqlStateOf } from './sql-state.js';

/** The role tenant transactions run as (drizzle/migrations/0008_row_level_security.sql). */
export const TENANT_ROLE = 'weft_app';
/** The transaction-local setting the tenant policies compare `workspace_id` with. */
export const WORKSPACE_SETTING = 'weft.workspace_id';

/**
 * Runs `fn` in one transaction as TENANT_ROLE with WORKSPACE_SETTING set to `workspaceId`:
 * row-level security then shows and accepts only that workspace's rows, whatever the statements
 * filter. Both are transaction-local (`SET LOCAL`, `set_config(…, true)`): they end with the
 * transaction and never stay on a pooled connection. `tx` is that transaction; a nested
 * `tx.transaction()` is a savepoint inside it.
 */
export interface TenantScope {
  <T>(workspaceId: string, fn: (tx: WeftDb) => Promise<T>): Promise<T>;
  /**
   * One statement in a tenant context, in one round trip: the role, the workspace and `statement`
   * go as one multi-statement simple query, which Postgres runs as one implicit transaction (the
   * `SET LOCAL`s end with it, and an error rolls all of it back). For the hot paths, where a
   * transaction's BEGIN and COMMIT would be two round trips more. A simple query has no
   * parameters: every value in `statement` must be inlined with `sqlLiteral`. Answers the rows
   * the statement returned, and how many it affected (an INSERT, UPDATE or DELETE).
   */
  oneShot(workspaceId: string, statement: string): Promise<OneShotResult>;
}

export interface OneShotResult {
  rows: Array<Record<string, unknown>>;
  affected: number;
}

/** A value inlined into SQL text as a string literal (node-postgres' escaping; `E'…'` when it holds a backslash). */
export function sqlLiteral(value: string): string {
  return pg.escapeLiteral(value);
}

/**
 * What opens a tenant transaction after BEGIN, as one multi-statement simple query. The id is
 * inlined (a simple query has no parameters), so it must be a canonical uuid: anything else is
 * a caller's bug, refused before it reaches SQL.
 */
export function tenantContextSql(workspaceId: string): string {
  if (!isUuid(workspaceId)) throw new Error('a tenant transaction needs a workspace id that is a uuid');
  return `set local role ${TENANT_ROLE}; select set_config('${WORKSPACE_SETTING}', '${workspaceId.toLowerCase()}', true)`;
}

/**
 * A tenant statement refused for its row (a WITH CHECK of the policy: a row of another workspace)
 * or for its table (no grant to the tenant role) is a repository's bug, never the request's: it
 * gets a code of its own, for the logs, and is answered as any bug is.
 */
function tenantError(err: unknown): unknown {
  if (sqlStateOf(err) !== '42501' || err instanceof WeftError) return err;
  return new WeftError('TENANT_ISOLATION_VIOLATION', 'a statement of a tenant transaction was refused by row-level security or by the tenant role\'s privileges', { cause: err });
}

type Relational = RelationalSchemaConfig<ExtractTablesWithRelations<WeftSchema>>;

/** The same relational config drizzle() builds from the schema, built once per scope. */
function relationalConfig(): Relational {
  const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
  return { fullSchema: schema, schema: tables.tables as ExtractTablesWithRelations<WeftSchema>, tableNamesMap: tables.tableNamesMap };
}

/**
 * The tenant scope over the database the repos run on: a node-postgres pool, in both modes
 * (embedded mode reaches its PGlite thread through one, see create-database.ts).
 */
export function createTenantScope(db: WeftDb): TenantScope {
  return pgTenantScope(pgPoolOf(db));
}

/**
 * BEGIN, the role and the workspace go in one round trip; then the statements; then COMMIT.
 * drizzle's own `transaction()` would send BEGIN alone, a round trip more, so the transaction
 * object is built here over the checked-out client, as drizzle builds it.
 */
function pgTenantScope(pool: pg.Pool): TenantScope {
  const dialect = new PgDialect();
  const relational = relationalConfig();
  const scope = async <T>(workspaceId: string, fn: (tx: WeftDb) => Promise<T>): Promise<T> => {
    const context = tenantContextSql(workspaceId);
    const client = await pool.connect();
    let unusable: Error | undefined;
    try {
      await client.query(`begin; ${context}`);
      const result = await fn(new NodePgTransaction(dialect, new NodePgSession(client, dialect, relational), relational));
      await client.query('commit');
      return result;
    } catch (err) {
      // Back to the session's own role and no workspace before the client returns to the pool;
      // a client that cannot even roll back is destroyed instead.
      try {
        await client.query('rollback');
      } catch (rollbackErr) {
        unusable = rollbackErr instanceof Error ? rollbackErr : new Error('rollback failed');
      }
      throw tenantError(err);
    } finally {
      client.release(unusable);
    }
  };
  const oneShot = async (workspaceId: string, statement: string): Promise<OneShotResult> => {
    const text = `${tenantContextSql(workspaceId)}; ${statement}`;
    try {
      const last = ((await pool.query(text)) as unknown as pg.QueryResult[]).at(-1);
      return { rows: (last?.rows ?? []) as Array<Record<string, unknown>>, affected: last?.rowCount ?? 0 };
    } catch (err) {
      throw tenantError(err);
    }
  };
  return Object.assign(scope, { oneShot });
}

