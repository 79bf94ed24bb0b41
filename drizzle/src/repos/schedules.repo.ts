import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import { isUuid, newId } from '@weft/shared/ids';
import { schedules, scheduleTicks } from '../schema/index.js';
import { assertBelowCap, lockLiveFlow } from './flow-owned.js';
import type { WeftDb } from './db.js';
import { sqlStateOf } from './sql-state.js';
import type { TenantScope } from './tenant.js';
import type { ScheduleRow, ScheduleTickRow, SchedulesRepo } from './types.js';

type ScheduleDbRow = typeof schedules.$inferSelect;

function toRow(r: ScheduleDbRow): ScheduleRow {
  return {
    id: r.id, workspaceId: r.workspaceId, flowId: r.flowId, cron: r.cron, timezone: r.timezone, input: r.input ?? null,
    paused: r.paused, lastTickAt: r.lastTickAt, createdAt: r.createdAt, updatedAt: r.updatedAt,
  };
}

/** Schedules and the record of their ticks (architecture.md, "Triggers"). */
export class PgSchedulesRepo implements SchedulesRepo {
  constructor(
    /** For the tick processor and the start-up re-arming, keyed by ids the engine holds. */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {}

  async create(input: { workspaceId: string; flowId: string; cron: string; timezone: string; input: unknown; maxSchedules: number }): Promise<ScheduleRow | null> {
    if (!isUuid(input.workspaceId) || !isUuid(input.flowId)) return null;
    return this.tenant(input.workspaceId, async (tx) => {
      if (!(await lockLiveFlow(tx, input))) return null;
      await assertBelowCap(tx, { table: schedules, workspaceId: input.workspaceId, max: input.maxSchedules, code: 'SCHEDULE_LIMIT_REACHED', what: 'schedules' });
      const now = new Date();
      const [row] = await tx.insert(schedules).values({
        id: newId(), workspaceId: input.workspaceId, flowId: input.flowId, cron: input.cron, timezone: input.timezone,
        input: input.input ?? null, paused: false, createdAt: now, updatedAt: now,
      }).returning();
      return row ? toRow(row) : null;
    });
  }

  async listByFlow(input: { workspaceId: string; flowId: string }): Promise<ScheduleRow[]> {
    if (!isUuid(input.workspaceId) || !isUuid(input.flowId)) return [];
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(schedules)
      .where(and(eq(schedules.workspaceId, input.workspaceId), eq(schedules.flowId, input.flowId)))
      .orderBy(asc(schedules.createdAt), asc(schedules.id)));
    return rows.map(toRow);
  }

  async get(input: { workspaceId: string; scheduleId: string }): Promise<ScheduleRow | null> {
    if (!isUuid(input.workspaceId) || !isUuid(input.scheduleId)) return null;
    const [row] = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(schedules)
      .where(and(eq(schedules.id, input.scheduleId), eq(schedules.workspaceId, input.workspaceId))));
    return row ? toRow(row) : null;
  }

  async setPaused(input: { workspaceId: string; scheduleId: string; paused: boolean }): Promise<ScheduleRow | null> {
    if (!isUuid(input.workspaceId) || !isUuid(input.scheduleId)) return null;
    const [row] = await this.tenant(input.workspaceId, (tx) => tx
      .update(schedules)
      .set({ paused: input.paused, updatedAt: new Date() })
      .where(and(eq(schedules.id, input.scheduleId), eq(schedules.workspaceId, input.workspaceId)))
      .returning());
    return row ? toRow(row) : null;
  }

  async delete(input: { workspaceId: string; scheduleId: string }): Promise<boolean> {
    if (!isUuid(input.workspaceId) || !isUuid(input.scheduleId)) return false;
    const deleted = await this.tenant(input.workspaceId, (tx) => tx
      .delete(schedules)
      .where(and(eq(schedules.id, input.scheduleId), eq(schedules.workspaceId, input.workspaceId)))
      .returning({ id: schedules.id }));
    return deleted.length > 0;
  }

  async getById(scheduleId: string): Promise<ScheduleRow | null> {
    if (!isUuid(scheduleId)) return null;
    const [row] = await this.system.select().from(schedules).where(eq(schedules.id, scheduleId));
    return row ? toRow(row) : null;
  }

  async listAll(input: { afterId?: string; limit: number }): Promise<ScheduleRow[]> {
    const rows = await this.system
      .select()
      .from(schedules)
      .where(input.afterId ? gt(schedules.id, input.afterId) : undefined)
      .orderBy(asc(schedules.id))
      .limit(input.limit);
    return rows.map(toRow);
  }

  async recordTick(input: { workspaceId: string; scheduleId: string; tickAt: Date; outcome: ScheduleTickRow['outcome']; reason: string | null; executionId: string | null; keep: number }): Promise<void> {
    try {
      await this.writeTick(input);
    } catch (err) {
      // The schedule was deleted meanwhile (foreign key): there is nothing left to record on.
      if (sqlStateOf(err) !== '23503') throw err;
    }
  }

  private async writeTick(input: { workspaceId: string; scheduleId: string; tickAt: Date; outcome: ScheduleTickRow['outcome']; reason: string | null; executionId: string | null; keep: number }): Promise<void> {
    await this.tenant(input.workspaceId, async (tx) => {
      const inserted = await tx.insert(scheduleTicks).values({
        scheduleId: input.scheduleId, workspaceId: input.workspaceId, tickAt: input.tickAt,
        outcome: input.outcome, reason: input.reason, executionId: input.executionId, recordedAt: new Date(),
      }).onConflictDoNothing().returning({ tickAt: scheduleTicks.tickAt });
      // Recorded already (a retried tick job): the first record stands.
      if (inserted.length === 0) return;
      await tx.update(schedules)
        .set({ lastTickAt: sql`greatest(${schedules.lastTickAt}, ${input.tickAt.toISOString()}::timestamptz)` })
        .where(eq(schedules.id, input.scheduleId));
      // The newest `keep` ticks stay: a one-second schedule must not grow the table without end.
      const [cut] = await tx.select({ tickAt: scheduleTicks.tickAt }).from(scheduleTicks)
        .where(eq(scheduleTicks.scheduleId, input.scheduleId))
        .orderBy(desc(scheduleTicks.tickAt))
        .offset(input.keep - 1)
        .limit(1);
      if (cut) await tx.delete(scheduleTicks).where(and(eq(scheduleTicks.scheduleId, input.scheduleId), lt(scheduleTicks.tickAt, cut.tickAt)));
    });
  }

  async listTicks(input: { workspaceId: string; scheduleId: string; limit: number }): Promise<ScheduleTickRow[]> {
    if (!isUuid(input.workspaceId) || !isUuid(input.scheduleId)) return [];
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(scheduleTicks)
      .where(and(eq(scheduleTicks.scheduleId, input.scheduleId), eq(scheduleTicks.workspaceId, input.workspaceId)))
      .orderBy(desc(scheduleTicks.tickAt))
      .limit(input.limit));
    return rows.map((r) => ({ scheduleId: r.scheduleId, tickAt: r.tickAt, outcome: r.outcome, reason: r.reason, executionId: r.executionId, recordedAt: r.recordedAt }));
  }
}
