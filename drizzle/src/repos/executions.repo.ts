import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { EXECUTION_PRIORITIES, type ExecutionStatus } from '@weft/shared/model';
import { WeftError } from '@weft/shared/errors';
import { isUuid, newId } from '@weft/shared/ids';
import { executions } from '../schema/index.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { WeftDb } from './db.js';
import { descNullsLast } from './order.js';
import { sqlLiteral, type TenantScope } from './tenant.js';
import type { CurrentFlowStart, ExecutionRow, ExecutionsRepo, FinalExecution, NewExecution, Page } from './types.js';

/** How long an idempotency key returns the execution it created. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Insert attempts when a concurrent request keeps clearing or taking the same key. */
const MAX_CREATE_ATTEMPTS = 3;

type ExecutionDbRow = typeof executions.$inferSelect;

function toRow(r: ExecutionDbRow): ExecutionRow {
  return {
    id: r.id,
    workspaceId: r.workspaceId,
    flowId: r.flowId,
    flowVersion: r.flowVersion,
    status: r.status,
    input: r.input ?? null,
    output: r.output ?? null,
    error: r.error ?? null,
    usage: r.usage ?? null,
    cost: r.cost ?? null,
    pricing: r.pricing ?? null,
    unpricedTokens: r.unpricedTokens ?? null,
    idempotencyKey: r.idempotencyKey,
    maxCostUsd: r.maxCostUsd,
    priority: r.priority,
    singleNodeId: r.singleNodeId,
    presetResults: r.presetResults ?? null,
    scheduleId: r.scheduleId,
    hookId: r.hookId,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

/** A replay of an Idempotency-Key must ask for what its first use asked for. */
function assertSameRequest(existing: { id: string; idempotencyFingerprint: string | null }, fingerprint: string | null): void {
  if (fingerprint === null || existing.idempotencyFingerprint === null || existing.idempotencyFingerprint === fingerprint) return;
  throw new WeftError('IDEMPOTENCY_KEY_REUSED', `the Idempotency-Key was used with another request (execution ${existing.id}); use a new key for a different start`, {
    details: [{ path: '/headers/idempotency-key', message: 'already used with a different flow, version, input or maxCostUsd' }],
  });
}

export class PgExecutionsRepo implements ExecutionsRepo {
  constructor(
    /**
     * For the methods keyed by an execution id the engine holds already (a job's, or one read
     * through a workspace-scoped method) and for the recovery sweeps across workspaces.
     */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {
    this.statements = executionStatements(system);
  }

  private readonly statements: ReturnType<typeof executionStatements>;

  async create(input: NewExecution): Promise<{ execution: ExecutionRow; created: boolean }> {
    const key = input.idempotencyKey ?? null;
    for (let attempt = 0; attempt < MAX_CREATE_ATTEMPTS; attempt++) {
      const now = new Date();
      const [inserted] = await this.tenant(input.workspaceId, (tx) => tx
        .insert(executions)
        .values({
          id: newId(),
          workspaceId: input.workspaceId,
          flowId: input.flowId,
          flowVersion: input.flowVersion,
          status: 'queued',
          input: input.input ?? null,
          idempotencyKey: key,
          idempotencyFingerprint: key === null ? null : input.idempotencyFingerprint ?? null,
          maxCostUsd: input.maxCostUsd ?? null,
          priority: input.priority ?? 'normal',
          singleNodeId: input.singleNodeId ?? null,
          presetResults: input.presetResults ?? null,
          scheduleId: input.scheduleId ?? null,
          hookId: input.hookId ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing({ target: [executions.workspaceId, executions.idempotencyKey] })
        .returning());
      if (inserted) return { execution: toRow(inserted), created: true };
      if (key === null) break;

      const [existing] = await this.tenant(input.workspaceId, (tx) => tx
        .select()
        .from(executions)
        .where(and(eq(executions.workspaceId, input.workspaceId), eq(executions.idempotencyKey, key))));
      // Gone between the insert and the select: another request released the key; try again.
      if (!existing) continue;
      if (now.getTime() - existing.createdAt.getTime() < IDEMPOTENCY_WINDOW_MS) {
        assertSameRequest(existing, input.idempotencyFingerprint ?? null);
        return { execution: toRow(existing), created: false };
      }
      // Expired: release the key from the old execution so a new one can take it.
      await this.tenant(input.workspaceId, (tx) => tx
        .update(executions)
        .set({ idempotencyKey: null, updatedAt: now })
        .where(and(eq(executions.id, existing.id), eq(executions.idempotencyKey, key))));
    }
    throw new WeftError('CONFLICT', 'the idempotency key is being used by concurrent requests; retry');
  }

  async findIdempotent(input: { workspaceId: string; idempotencyKey: string; idempotencyFingerprint: string }): Promise<ExecutionRow | null> {
    const [existing] = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(executions)
      .where(and(eq(executions.workspaceId, input.workspaceId), eq(executions.idempotencyKey, input.idempotencyKey))));
    if (!existing || Date.now() - existing.createdAt.getTime() >= IDEMPOTENCY_WINDOW_MS) return null;
    assertSameRequest(existing, input.idempotencyFingerprint);
    return toRow(existing);
  }

  async createIfFlowCurrent(workspaceId: string, starts: readonly CurrentFlowStart[]): Promise<Array<ExecutionRow | null>> {
    const rows = starts.map((start): ExecutionRow | null => {
      const maxCostUsd = start.maxCostUsd ?? null;
      const trigger = [start.scheduleId ?? null, start.hookId ?? null];
      const priority = start.priority ?? 'normal';
      if (!isUuid(start.flowId) || !Number.isSafeInteger(start.flowVersion) || (maxCostUsd !== null && !Number.isFinite(maxCostUsd))) return null;
      if (!(EXECUTION_PRIORITIES as readonly string[]).includes(priority)) return null;
      if (trigger.some((id) => id !== null && !isUuid(id))) return null;
      return {
        id: newId(), workspaceId, flowId: start.flowId, flowVersion: start.flowVersion, status: 'queued', input: start.input ?? null,
        output: null, error: null, usage: null, cost: null, pricing: null, unpricedTokens: null,
        idempotencyKey: null, maxCostUsd, priority, singleNodeId: null, presetResults: null,
        scheduleId: trigger[0] ?? null, hookId: trigger[1] ?? null,
        createdAt: new Date(), startedAt: null, finishedAt: null,
      };
    });
    // Plain SQL text, every value inlined as a literal (a one-shot is a simple query): drizzle's
    // builder was a quarter of the api's CPU on this path. The rows are built here, so only the
    // ids of those written come back; the flow check rides in the same statement.
    const values = starts.flatMap((start, i) => {
      const row = rows[i];
      if (!row) return [];
      const input = row.input === null ? 'null::jsonb' : `${sqlLiteral(JSON.stringify(row.input))}::jsonb`;
      const maxCost = row.maxCostUsd === null ? 'null::numeric' : `${row.maxCostUsd}::numeric`;
      const uuid = (id: string | null | undefined): string => (id ? `${sqlLiteral(id)}::uuid` : 'null::uuid');
      return [`(${sqlLiteral(row.id)}::uuid, ${sqlLiteral(row.flowId)}::uuid, ${row.flowVersion}::int, ${start.latest}, ${input}, ${maxCost}, ${sqlLiteral(row.priority ?? 'normal')}, ${uuid(row.scheduleId)}, ${uuid(row.hookId)}, ${sqlLiteral(row.createdAt.toISOString())}::timestamptz)`];
    });
    if (values.length === 0) return rows.map(() => null);
    const { rows: written } = await this.tenant.oneShot(workspaceId, [
      'insert into executions (id, workspace_id, flow_id, flow_version, status, input, max_cost_usd, priority, schedule_id, hook_id, created_at, updated_at)',
      "select v.id, f.workspace_id, f.id, v.version, 'queued', v.input, v.max_cost, v.priority, v.schedule_id, v.hook_id, v.at, v.at",
      `from (values ${values.join(', ')}) as v (id, flow_id, version, latest, input, max_cost, priority, schedule_id, hook_id, at)`,
      `join flows f on f.id = v.flow_id and f.workspace_id = ${sqlLiteral(workspaceId)}::uuid and f.deleted_at is null`,
      // Versions run from 1 to the latest, none ever removed alone.
      'where v.version between 1 and f.latest_version and (not v.latest or f.latest_version = v.version)',
      'returning id',
    ].join(' '));
    const ids = new Set(written.map((r) => String(r.id)));
    return rows.map((row) => (row && ids.has(row.id) ? row : null));
  }

  async get(input: { workspaceId: string; executionId: string }): Promise<ExecutionRow | null> {
    if (!isUuid(input.executionId)) return null;
    const [row] = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(executions)
      .where(and(eq(executions.id, input.executionId), eq(executions.workspaceId, input.workspaceId))));
    return row ? toRow(row) : null;
  }

  async getById(executionId: string): Promise<ExecutionRow | null> {
    if (!isUuid(executionId)) return null;
    const [row] = await this.system.select().from(executions).where(eq(executions.id, executionId));
    return row ? toRow(row) : null;
  }

  async listIdsByWorkspace(input: { workspaceId: string; afterId?: string; limit: number }): Promise<{ id: string; status: ExecutionStatus }[]> {
    if (!isUuid(input.workspaceId)) return [];
    const after = input.afterId !== undefined && isUuid(input.afterId) ? input.afterId : null;
    return this.tenant(input.workspaceId, (tx) => tx
      .select({ id: executions.id, status: executions.status })
      .from(executions)
      .where(and(eq(executions.workspaceId, input.workspaceId), after === null ? undefined : gt(executions.id, after)))
      .orderBy(asc(executions.id))
      .limit(Math.max(1, Math.floor(input.limit))));
  }

  async countLive(workspaceId: string): Promise<{ queued: number; running: number; waiting: number }> {
    const counts = { queued: 0, running: 0, waiting: 0 };
    if (!isUuid(workspaceId)) return counts;
    // executions_workspace_status_idx: a range of the index, only live rows.
    const rows = await this.tenant(workspaceId, (tx) => tx
      .select({ status: executions.status, n: sql<number>`count(*)::int` })
      .from(executions)
      .where(and(eq(executions.workspaceId, workspaceId), inArray(executions.status, ['queued', 'running', 'waiting'])))
      .groupBy(executions.status));
    for (const row of rows) {
      if (row.status === 'queued' || row.status === 'running' || row.status === 'waiting') counts[row.status] = row.n;
    }
    return counts;
  }

  async listQueuedBefore(input: { before: Date; limit: number }): Promise<ExecutionRow[]> {
    const rows = await this.system
      .select()
      .from(executions)
      .where(and(eq(executions.status, 'queued'), sql`${executions.createdAt} < ${input.before.toISOString()}::timestamptz`))
      .orderBy(executions.createdAt)
      .limit(Math.max(1, Math.floor(input.limit)));
    return rows.map(toRow);
  }

  async listLiveBefore(input: { before: Date; limit: number }): Promise<ExecutionRow[]> {
    const rows = await this.system
      .select()
      .from(executions)
      .where(and(inArray(executions.status, ['running', 'waiting']), sql`${executions.updatedAt} < ${input.before.toISOString()}::timestamptz`))
      .orderBy(executions.updatedAt)
      .limit(Math.max(1, Math.floor(input.limit)));
    return rows.map(toRow);
  }

  async list(input: {
    workspaceId: string;
    flowId?: string;
    status?: ExecutionStatus | readonly ExecutionStatus[];
    createdAfter?: Date;
    createdBefore?: Date;
    limit: number;
    cursor?: string;
  }): Promise<Page<ExecutionRow>> {
    if (input.flowId !== undefined && !isUuid(input.flowId)) return { items: [], nextCursor: null };
    const conditions: SQL[] = [eq(executions.workspaceId, input.workspaceId)];
    if (input.flowId !== undefined) conditions.push(eq(executions.flowId, input.flowId));
    if (typeof input.status === 'string') conditions.push(eq(executions.status, input.status));
    else if (input.status !== undefined && input.status.length > 0) conditions.push(inArray(executions.status, [...input.status]));
    // Both bounds exclusive, as their names say.
    if (input.createdAfter !== undefined) conditions.push(sql`${executions.createdAt} > ${input.createdAfter.toISOString()}::timestamptz`);
    if (input.createdBefore !== undefined) conditions.push(sql`${executions.createdAt} < ${input.createdBefore.toISOString()}::timestamptz`);
    if (input.cursor !== undefined) {
      const c = decodeCursor(input.cursor);
      conditions.push(sql`(${executions.createdAt}, ${executions.id}) < (${c.createdAt.toISOString()}::timestamptz, ${c.id}::uuid)`);
    }
    const limit = Math.max(1, Math.floor(input.limit));
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(executions)
      .where(and(...conditions))
      .orderBy(descNullsLast(executions.createdAt), descNullsLast(executions.id))
      .limit(limit + 1));
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toRow),
      nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  async claimQueued(input: { executionId: string; startedAt: Date }): Promise<{ row: ExecutionRow; claimed: boolean } | null> {
    if (!isUuid(input.executionId)) return null;
    const [moved] = await this.statements.claimQueued.execute({ id: input.executionId, startedAt: input.startedAt, updatedAt: new Date() });
    if (moved) return { row: toRow(moved), claimed: true };
    const row = await this.getById(input.executionId);
    return row ? { row, claimed: false } : null;
  }

  async deleteQueued(input: { executionId: string }): Promise<boolean> {
    const deleted = await this.system
      .delete(executions)
      .where(and(eq(executions.id, input.executionId), eq(executions.status, 'queued')))
      .returning({ id: executions.id });
    return deleted.length > 0;
  }

  async liveAmong(executionIds: readonly string[]): Promise<Set<string>> {
    const ids = executionIds.filter(isUuid);
    if (ids.length === 0) return new Set();
    const rows = await this.system
      .select({ id: executions.id })
      .from(executions)
      .where(and(inArray(executions.id, ids), inArray(executions.status, ['queued', 'running', 'waiting'])));
    return new Set(rows.map((r) => r.id));
  }

  async setLiveStatus(input: { executionId: string; status: 'running' | 'waiting' }): Promise<void> {
    await this.system
      .update(executions)
      .set({ status: input.status, updatedAt: new Date() })
      .where(and(eq(executions.id, input.executionId), inArray(executions.status, ['running', 'waiting'])));
  }

  async reopen(input: { executionId: string }): Promise<void> {
    await this.system
      .update(executions)
      .set({ status: 'running', finishedAt: null, error: null, output: null, updatedAt: new Date() })
      .where(eq(executions.id, input.executionId));
  }

  async finalize(input: FinalExecution): Promise<void> {
    // Nullable values go as driver values (drizzle encodes a placeholder's value even when null).
    const json = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));
    const totalCost = input.cost?.totalCost;
    await this.statements.finalize.execute({
      id: input.executionId,
      status: input.status,
      output: json(input.output),
      error: json(input.error),
      usage: json(input.usage),
      cost: json(input.cost),
      totalCostUsd: totalCost === undefined || totalCost === null ? null : String(totalCost),
      pricing: input.pricing ?? null,
      unpricedTokens: input.unpricedTokens ?? null,
      startedAt: input.startedAt?.toISOString() ?? null,
      finishedAt: input.finishedAt?.toISOString() ?? null,
      updatedAt: new Date(),
    });
  }
}

/**
 * The statements every execution runs once (its claim, its end), built by drizzle once per
 * repo and prepared by name: drizzle building them per call was about 4% of a worker's CPU
 * under the transitions bench, and Postgres parses and plans them once per connection.
 */
function executionStatements(db: WeftDb) {
  const id = sql.placeholder('id');
  // drizzle's update types leave placeholders out of set() though they work there (each is
  // encoded by its column at execute time): drizzle-orm#5084, fixed after the release we use.
  // Only for values never null: drizzle encodes a placeholder's null too (String(null)).
  const slot = (name: string): never => sql.placeholder(name) as never;
  // A nullable value, passed as its driver value (JSON text, decimal text, ISO time) and cast.
  const nullable = (name: string, type: 'jsonb' | 'numeric' | 'text' | 'bigint' | 'timestamptz'): SQL => sql`${sql.placeholder(name)}::${sql.raw(type)}`;
  return {
    claimQueued: db
      .update(executions)
      .set({ status: 'running', startedAt: slot('startedAt'), updatedAt: slot('updatedAt') })
      .where(and(eq(executions.id, id), eq(executions.status, 'queued')))
      .returning()
      .prepare('weft_claim_queued_execution'),
    finalize: db
      .update(executions)
      .set({
        status: slot('status'),
        output: nullable('output', 'jsonb'),
        error: nullable('error', 'jsonb'),
        usage: nullable('usage', 'jsonb'),
        cost: nullable('cost', 'jsonb'),
        totalCostUsd: nullable('totalCostUsd', 'numeric'),
        pricing: nullable('pricing', 'text'),
        unpricedTokens: nullable('unpricedTokens', 'bigint'),
        // A finalize that does not know when the run started keeps what claimQueued wrote.
        startedAt: sql`coalesce(${nullable('startedAt', 'timestamptz')}, ${executions.startedAt})`,
        finishedAt: nullable('finishedAt', 'timestamptz'),
        updatedAt: slot('updatedAt'),
      })
      .where(eq(executions.id, id))
      .prepare('weft_finalize_execution'),
  };
}
