/**
 * Counts the SQL statements this process sends to Postgres, by verb and table, and the rows
 * each INSERT carries. Instrumentation only: node-postgres' Client.prototype.query is wrapped
 * for the bench's lifetime (every pool client of the engine goes through it) and restored.
 * PGlite (embedded mode) is not counted.
 */
import pg from 'pg';

export type StatementCounts = Map<string, number>;

export interface StatementCounter {
  /** A copy of the counts so far. */
  snapshot(): StatementCounts;
  restore(): void;
}

/** `insert node_runs`, `select executions`, `begin`… and `insert node_runs rows` for inserted rows. */
export function classifyStatement(text: string): { label: string; rows: number } {
  const sql = text.trim().toLowerCase();
  const verb = /^(\w+)/.exec(sql)?.[1] ?? '?';
  const table = (pattern: RegExp): string => pattern.exec(sql)?.[1] ?? '?';
  switch (verb) {
    case 'insert': {
      // A multi-row insert lists its rows as `values (…), (…)`; parameters carry the data.
      const values = sql.split(' values ')[1];
      return { label: `insert ${table(/^insert into "?([\w.]+)"?/)}`, rows: values === undefined ? 1 : values.split('), (').length };
    }
    case 'update':
      return { label: `update ${table(/^update "?([\w.]+)"?/)}`, rows: 0 };
    case 'select':
    case 'delete':
      return { label: `${verb} ${table(/ from "?([\w.]+)"?/)}`, rows: 0 };
    default:
      return { label: verb, rows: 0 };
  }
}

export function countPgStatements(): StatementCounter {
  const counts: StatementCounts = new Map();
  const add = (label: string, n: number): void => { counts.set(label, (counts.get(label) ?? 0) + n); };
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  prototype.query = function countedQuery(this: unknown, ...args: unknown[]): unknown {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
    if (typeof text === 'string') {
      const { label, rows } = classifyStatement(text);
      add(label, 1);
      if (rows > 0) add(`${label} rows`, rows);
    }
    return original.apply(this, args);
  };
  return {
    snapshot: () => new Map(counts),
    restore() {
      prototype.query = original;
    },
  };
}

export function statementDelta(before: StatementCounts, after: StatementCounts): StatementCounts {
  const delta: StatementCounts = new Map();
  for (const [label, n] of after) {
    const d = n - (before.get(label) ?? 0);
    if (d > 0) delta.set(label, d);
  }
  return delta;
}
