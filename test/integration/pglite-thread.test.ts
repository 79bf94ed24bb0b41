/**
 * Embedded mode's PGlite on a thread of its own (drizzle/src/database/pglite-host.ts and
 * pglite-thread.ts), through the database object embedded mode opens: statements run off the
 * caller's event loop, a transaction keeps PGlite to itself across the thread boundary, a
 * connection dropped inside one leaves nothing behind, errors keep their SQLSTATE, and each
 * connection has its prepared statements to itself.
 */
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, IN_MEMORY, PGLITE_CONNECTIONS, type SqlDatabase } from '@weft/db/database';
import { createMetrics } from '@weft/shared/metrics';
import { sqlState } from '../contract/db-repos.fixture.js';

/** Event-loop turns (setImmediate callbacks) that run until `work` settles. */
async function turnsDuring(work: Promise<unknown>): Promise<number> {
  let turns = 0;
  let settled = false;
  const done = work.finally(() => { settled = true; });
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      if (settled) resolve();
      else {
        turns++;
        setImmediate(turn);
      }
    };
    setImmediate(turn);
  });
  await done;
  return turns;
}

describe('PGlite on its own thread (embedded mode)', () => {
  let database: SqlDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    database = await createDatabase({ dataDir: IN_MEMORY, masterKey: randomBytes(32) });
    await database.migrate();
    pool = (database.system as unknown as { $client: pg.Pool }).$client;
    await pool.query('create table thread_probe (id int primary key, note text)');
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  it('runs statements on another thread, and the event loop turns while one runs', async () => {
    expect(database.threadId).toEqual(expect.any(Number));
    expect(database.threadId).not.toBe(threadId);
    // A second of Postgres work: on this thread it would be one synchronous WASM call, during
    // which not a single setImmediate could run.
    const turns = await turnsDuring(database.system.execute(sql`select pg_sleep(1)`));
    expect(turns).toBeGreaterThan(10);
  });

  it('keeps a transaction to itself: a statement of another connection waits for its commit', async () => {
    const order: string[] = [];
    let outside: Promise<{ xid: string | null; n: string }[]> | undefined;
    await database.system.transaction(async (tx) => {
      await tx.execute(sql`insert into thread_probe values (1, 'inside')`);
      // Another pool connection, while this one holds the transaction open.
      outside = pool.query<{ xid: string | null; n: string }>(
        "select pg_current_xact_id_if_assigned()::text as xid, (select count(*) from thread_probe where note = 'inside')::text as n",
      ).then((r) => { order.push('outside'); return r.rows; });
      // Round trips inside the transaction, during which the other connection's statement reaches PGlite's thread.
      for (let i = 0; i < 5; i++) await tx.execute(sql`select count(*) from thread_probe`);
      order.push('commit');
    });
    const [row] = (await outside) ?? [];
    expect(order).toEqual(['commit', 'outside']);
    // It ran after the commit, outside any transaction: it saw the row and had no transaction id.
    expect(row).toEqual({ xid: null, n: '1' });
  });

  it('rolls back what a connection dropped inside a transaction left open, and goes on', async () => {
    const client = await pool.connect();
    await client.query('begin');
    await client.query("insert into thread_probe values (2, 'dropped')");
    client.release(new Error('dropped by the test'));
    const { rows } = await pool.query<{ n: string }>("select count(*)::text as n from thread_probe where note = 'dropped'");
    expect(rows).toEqual([{ n: '0' }]);
    const status = await pool.query<{ xid: string | null }>('select pg_current_xact_id_if_assigned()::text as xid');
    expect(status.rows).toEqual([{ xid: null }]);
  });

  it('returns Postgres errors with their SQLSTATE', async () => {
    await database.system.execute(sql`insert into thread_probe values (3, 'once')`);
    const duplicate = await database.system.execute(sql`insert into thread_probe values (3, 'twice')`).then(() => null, (err: unknown) => err);
    expect(sqlState(duplicate)).toBe('23505');
    const missing = await database.system.execute(sql`select * from no_such_table`).then(() => null, (err: unknown) => err);
    expect(sqlState(missing)).toBe('42P01');
    // The connection is usable after an error.
    await database.ping();
  });

  it('gives each connection its own named prepared statements', async () => {
    const [a, b] = [await pool.connect(), await pool.connect()];
    try {
      const named = (client: pg.PoolClient, value: number) => client.query<{ v: number }>({ name: 'probe', text: 'select $1::int as v', values: [value] });
      expect((await named(a, 1)).rows).toEqual([{ v: 1 }]);
      // The same name on another connection: a server has it per session, PGlite has one session.
      expect((await named(b, 2)).rows).toEqual([{ v: 2 }]);
      expect((await named(a, 3)).rows).toEqual([{ v: 3 }]);
    } finally {
      a.release();
      b.release();
    }
  });

  it('reports its connections to weft_db_pool_clients', async () => {
    const metrics = createMetrics();
    const poolStats = database.poolStats?.bind(database);
    if (!poolStats) throw new Error('the embedded database reports no pool');
    metrics.observeDbPool(poolStats);
    const held = await Promise.all(Array.from({ length: PGLITE_CONNECTIONS }, () => pool.connect()));
    const waiting = pool.query('select 1');
    try {
      const text = await metrics.registry.metrics();
      expect(text).toContain(`weft_db_pool_clients{state="total"} ${PGLITE_CONNECTIONS}`);
      expect(text).toContain('weft_db_pool_clients{state="idle"} 0');
      expect(text).toContain('weft_db_pool_clients{state="waiting"} 1');
    } finally {
      for (const client of held) client.release();
      await waiting;
    }
  });
});
