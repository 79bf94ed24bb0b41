import { and, asc, desc, eq, inArray, isNotNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import { isUuid, newId } from '@weft/shared/ids';
import type { NewTask, SecretDeliveryRow, TaskLease, TaskProgress, TaskRow, TasksRepo, TaskStatus } from '@weft/shared/ports';
import { tasks, taskSecretDeliveries } from '../schema/index.js';
import type { WeftDb } from './db.js';
import type { TenantScope } from './tenant.js';

const LIVE: TaskStatus[] = ['queued', 'claimed', 'parked'];
const ENDED: TaskStatus[] = ['completed', 'failed', 'cancelled'];

type Row = typeof tasks.$inferSelect;

function toTask(row: Row): TaskRow {
  return {
    id: row.id, workspaceId: row.workspaceId, executionId: row.executionId, flowId: row.flowId, flowVersion: row.flowVersion,
    nodeId: row.nodeId, handler: row.handler, queue: row.queue, status: row.status as TaskStatus, input: row.input ?? null,
    secretNames: row.secretNames, attempt: row.attempt, maxAttempts: row.maxAttempts, backoff: row.backoff ?? null,
    heartbeatTimeoutMs: row.heartbeatTimeoutMs, leaseId: row.leaseId, leaseExpiresAt: row.leaseExpiresAt,
    checkpoint: row.checkpoint ?? null, progress: (row.progress as TaskProgress | null) ?? null, nodeStartedAt: row.nodeStartedAt,
    workerTokenId: row.workerTokenId,
  };
}

/** The lease's new deadline, in the database's clock (every api instance agrees on it). */
const leaseDeadline = sql`now() + ${tasks.heartbeatTimeoutMs} * interval '1 millisecond'`;

/** External tasks in Postgres: a queue per (workspace, handler), claimed with SKIP LOCKED, fenced by lease ids. */
export class PgTasksRepo implements TasksRepo {
  constructor(
    /** The engine's writes keyed by an execution it holds, and the fleet-wide depth gauge. */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {}

  async enqueue(task: NewTask): Promise<string> {
    const ended = sql.raw(`(${ENDED.map((s) => `'${s}'`).join(', ')})`);
    const reset = (fresh: SQL, kept: SQL): SQL => sql`case when ${tasks.status} in ${ended} then ${fresh} else ${kept} end`;
    const [row] = await this.tenant(task.workspaceId, (tx) => tx
      .insert(tasks)
      .values({ ...task, status: 'queued', attempt: 0 })
      .onConflictDoUpdate({
        target: [tasks.executionId, tasks.nodeId],
        // A retry of the node (its row ended) starts over; a redelivered job of a live one keeps it.
        set: {
          nodeStartedAt: sql`excluded.node_started_at`,
          input: reset(sql`excluded.input`, sql`${tasks.input}`),
          status: reset(sql`'queued'`, sql`${tasks.status}`),
          attempt: reset(sql`0`, sql`${tasks.attempt}`),
          checkpoint: reset(sql`null`, sql`${tasks.checkpoint}`),
          progress: reset(sql`null`, sql`${tasks.progress}`),
          leaseId: reset(sql`null`, sql`${tasks.leaseId}`),
          leaseExpiresAt: reset(sql`null`, sql`${tasks.leaseExpiresAt}`),
          availableAt: reset(sql`now()`, sql`${tasks.availableAt}`),
          flowVersion: sql`excluded.flow_version`,
          updatedAt: sql`now()`,
        },
      })
      .returning({ id: tasks.id }));
    return row?.id ?? task.id;
  }

  async claim(input: { workspaceId: string; handlers: readonly string[]; queues?: readonly string[] | undefined; workerTokenId: string; leaseId: string }): Promise<TaskRow | null> {
    if (!isUuid(input.workspaceId) || input.handlers.length === 0) return null;
    return this.tenant(input.workspaceId, async (tx) => {
      const [candidate] = await tx
        .select({ id: tasks.id })
        .from(tasks)
        .where(and(
          eq(tasks.workspaceId, input.workspaceId),
          inArray(tasks.handler, [...input.handlers]),
          input.queues && input.queues.length > 0 ? inArray(tasks.queue, [...input.queues]) : undefined,
          // A lapsed lease is not claimed here: the lease sweep puts it back through the node's retry policy.
          eq(tasks.status, 'queued'),
          lte(tasks.availableAt, sql`now()`),
        ))
        .orderBy(asc(tasks.availableAt), asc(tasks.id))
        .limit(1)
        .for('update', { skipLocked: true });
      if (!candidate) return null;
      const [row] = await tx
        .update(tasks)
        .set({
          status: 'claimed', attempt: sql`${tasks.attempt} + 1`, leaseId: input.leaseId, leaseExpiresAt: leaseDeadline,
          workerTokenId: input.workerTokenId, updatedAt: sql`now()`,
        })
        .where(eq(tasks.id, candidate.id))
        .returning();
      if (!row) return null;
      if (row.secretNames.length > 0) {
        await tx.insert(taskSecretDeliveries).values({
          id: newId(), workspaceId: row.workspaceId, taskId: row.id, executionId: row.executionId, nodeId: row.nodeId,
          handler: row.handler, workerTokenId: input.workerTokenId, attempt: row.attempt, secretNames: row.secretNames,
        });
      }
      return toTask(row);
    });
  }

  /** The update of a claimed task under this lease; `lapsed`: only once the lease has lapsed (the sweep's writes). */
  private async fenced(lease: TaskLease & { lapsed?: boolean | undefined }, set: Partial<typeof tasks.$inferInsert> | Record<string, unknown>): Promise<TaskRow | null> {
    if (!isUuid(lease.workspaceId) || !isUuid(lease.taskId) || !isUuid(lease.leaseId)) return null;
    const [row] = await this.tenant(lease.workspaceId, (tx) => tx
      .update(tasks)
      .set({ ...set, updatedAt: sql`now()` })
      .where(and(
        eq(tasks.id, lease.taskId), eq(tasks.workspaceId, lease.workspaceId), eq(tasks.leaseId, lease.leaseId), eq(tasks.status, 'claimed'),
        lease.lapsed === true ? lt(tasks.leaseExpiresAt, sql`now()`) : undefined,
      ))
      .returning());
    return row ? toTask(row) : null;
  }

  heartbeat(input: TaskLease & { progress?: TaskProgress | undefined; release?: boolean | undefined }): Promise<TaskRow | null> {
    // A release puts the task back at once, keeping its attempt count and checkpoint: not a lapse.
    if (input.release === true) return this.fenced(input, { status: 'queued', leaseId: null, leaseExpiresAt: null, availableAt: sql`now()` });
    return this.fenced(input, { leaseExpiresAt: leaseDeadline, ...(input.progress ? { progress: input.progress } : {}) });
  }

  checkpoint(input: TaskLease & { checkpoint: unknown }): Promise<TaskRow | null> {
    return this.fenced(input, { leaseExpiresAt: leaseDeadline, checkpoint: sql`${JSON.stringify(input.checkpoint)}::jsonb` });
  }

  finish(input: TaskLease & { status: 'completed' | 'failed' | 'parked'; lapsed?: boolean | undefined }): Promise<TaskRow | null> {
    return this.fenced(input, { status: input.status, leaseExpiresAt: null });
  }

  async lapsed(input: { limit: number }): Promise<TaskRow[]> {
    const rows = await this.system
      .select()
      .from(tasks)
      .where(and(eq(tasks.status, 'claimed'), isNotNull(tasks.leaseExpiresAt), lt(tasks.leaseExpiresAt, sql`now()`)))
      .orderBy(asc(tasks.leaseExpiresAt))
      .limit(input.limit);
    return rows.map(toTask);
  }

  requeue(input: TaskLease & { delayMs: number; lapsed?: boolean | undefined }): Promise<TaskRow | null> {
    return this.fenced(input, {
      status: 'queued', leaseId: null, leaseExpiresAt: null,
      availableAt: sql`now() + ${Math.max(0, Math.round(input.delayMs))} * interval '1 millisecond'`,
    });
  }

  async get(input: { workspaceId: string; taskId: string }): Promise<TaskRow | null> {
    if (!isUuid(input.workspaceId) || !isUuid(input.taskId)) return null;
    const [row] = await this.tenant(input.workspaceId, (tx) => tx
      .select().from(tasks).where(and(eq(tasks.id, input.taskId), eq(tasks.workspaceId, input.workspaceId))));
    return row ? toTask(row) : null;
  }

  async listByExecution(input: { workspaceId: string; executionId: string }): Promise<TaskRow[]> {
    if (!isUuid(input.workspaceId) || !isUuid(input.executionId)) return [];
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select().from(tasks).where(and(eq(tasks.executionId, input.executionId), eq(tasks.workspaceId, input.workspaceId))));
    return rows.map(toTask);
  }

  async settle(input: { executionId: string; nodeId?: string | undefined; status: 'completed' | 'failed' | 'cancelled' }): Promise<void> {
    if (!isUuid(input.executionId)) return;
    await this.system
      .update(tasks)
      .set({ status: input.status, leaseId: null, leaseExpiresAt: null, updatedAt: sql`now()` })
      .where(and(eq(tasks.executionId, input.executionId), input.nodeId === undefined ? undefined : eq(tasks.nodeId, input.nodeId), inArray(tasks.status, LIVE)));
  }

  async depth(): Promise<Record<'queued' | 'claimed' | 'parked', number>> {
    const rows = await this.system
      .select({ status: tasks.status, n: sql<number>`count(*)::int` })
      .from(tasks)
      .where(inArray(tasks.status, LIVE))
      .groupBy(tasks.status);
    const depth = { queued: 0, claimed: 0, parked: 0 };
    for (const row of rows) if (row.status in depth) depth[row.status as keyof typeof depth] = row.n;
    return depth;
  }

  async listDeliveries(input: { workspaceId: string; taskId?: string | undefined; limit: number }): Promise<SecretDeliveryRow[]> {
    if (!isUuid(input.workspaceId) || (input.taskId !== undefined && !isUuid(input.taskId))) return [];
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(taskSecretDeliveries)
      .where(and(eq(taskSecretDeliveries.workspaceId, input.workspaceId), input.taskId === undefined ? undefined : eq(taskSecretDeliveries.taskId, input.taskId)))
      .orderBy(desc(taskSecretDeliveries.deliveredAt), desc(taskSecretDeliveries.id))
      .limit(input.limit));
    return rows.map((r) => ({
      id: r.id, taskId: r.taskId, executionId: r.executionId, nodeId: r.nodeId, handler: r.handler,
      workerTokenId: r.workerTokenId, attempt: r.attempt, secretNames: r.secretNames, deliveredAt: r.deliveredAt,
    }));
  }
}
