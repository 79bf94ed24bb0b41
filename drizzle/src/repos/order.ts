import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/**
 * `col desc nulls last`: how drizzle-kit writes descending index columns. A plain `desc`
 * means `nulls first` to Postgres, which then cannot read those indexes in order.
 */
export function descNullsLast(column: AnyColumn): SQL {
  return sql`${column} desc nulls last`;
}

/**
 * `col collate "C"`: code-point order. Text otherwise sorts by the database's collation, which
 * is always C on PGlite (embedded mode) but whatever initdb chose on Postgres (en_US.utf8 in
 * the postgres Docker image, where `a A b B` replaces `A B a b`): lists would come back in a
 * different order in the two modes.
 */
export function codePointOrder(column: AnyColumn): SQL {
  return sql`${column} collate "C"`;
}
