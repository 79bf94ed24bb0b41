/** What the repos of rows that belong to a flow (schedules, hooks) share when they create one. */
import { and, eq, isNull, sql } from 'drizzle-orm';
import { WeftError, type ErrorCode } from '@weft/shared/errors';
import { flows, hooks, schedules } from '../schema/index.js';
import type { WeftDb } from './db.js';

/**
 * In a tenant transaction: whether the workspace's flow exists and is not deleted, its row
 * share-locked so that a concurrent delete of the flow waits for the caller's insert.
 */
export async function lockLiveFlow(tx: WeftDb, input: { workspaceId: string; flowId: string }): Promise<boolean> {
  const [flow] = await tx
    .select({ id: flows.id })
    .from(flows)
    .where(and(eq(flows.id, input.flowId), eq(flows.workspaceId, input.workspaceId), isNull(flows.deletedAt)))
    .for('share');
  return flow !== undefined;
}

/**
 * Throws `code` when the workspace holds `max` rows of `table` already. Concurrent creations may
 * pass the cap by a few: it bounds creating in a loop, it is not an exact count.
 */
export async function assertBelowCap(tx: WeftDb, input: { table: typeof schedules | typeof hooks; workspaceId: string; max: number; code: ErrorCode; what: string }): Promise<void> {
  const [held] = await tx.select({ n: sql<number>`count(*)::int` }).from(input.table).where(eq(input.table.workspaceId, input.workspaceId));
  if ((held?.n ?? 0) >= input.max) throw new WeftError(input.code, `the workspace holds ${input.max} ${input.what} already: delete one first`);
}
