import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/**
 * `col desc nulls last`: how drizzle-kit writes descending index columns. A plain `desc`
 * means `nulls first` to Postgres, which then cannot read those indexes in order.
 */
export function descNullsLast(column: AnyColumn): SQL {
  return sql`${column} desc nulls last`;
}
