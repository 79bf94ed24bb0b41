import { and, asc, eq, getTableColumns, inArray, like, sql, type SQL } from 'drizzle-orm';
import type { NodeStatus } from '@weft/shared/model';
import { isUuid } from '@weft/shared/ids';
import { executions, nodeRuns } from '../schema/index.js';
import type { WeftDb } from './db.js';
import { codePointOrder, descNullsLast } from './order.js';
import { sqlStateOf } from './sql-state.js';
import type { TenantScope } from './tenant.js';
import type { NodeRunRow, NodeRunsRepo } from './types.js';

/** 23 parameters a row: 500 rows stay far below Postgres' 65535 bind parameters. */
const UPSERT_CHUNK_ROWS = 500;
const KEY_COLUMNS: ReadonlySet<string> = new Set(['executionId', 'nodeId', 'iteration']);

type NodeRunDbRow = typeof nodeRuns.$inferSelect;

/** Postgres' foreign_key_violation (23503). */
function isForeignKeyViolation(err: unknown): boolean {
  return sqlStateOf(err) === '23503';
}

function toRow(r: NodeRunDbRow): NodeRunRow {
  return {
    executionId: r.executionId,
    workspaceId: r.workspaceId,
    flowId: r.flowId,
    nodeId: r.nodeId,
    iteration: r.iteration,
    nodeType: r.nodeType,
    status: r.status,
    attempts: r.attempts,
    input: r.input ?? null,
    output: r.output ?? null,
    error: r.error ?? null,
    usage: r.usage ?? null,
    cost: r.cost ?? null,
    pricing: r.pricing ?? null,
    pricedAs: r.pricedAs ?? null,
    provider: r.provider,
    model: r.model,
    workerId: r.workerId,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    runtimeMs: r.runtimeMs,
    ...(r.logs ? { logs: r.logs } : {}),
  };
}

/** `col = excluded.col` for every non-key column: the incoming row replaces the stored one. */
function excludedSet(): Record<string, SQL> {
  const set: Record<string, SQL> = {};
  for (const [key, column] of Object.entries(getTableColumns(nodeRuns))) {
    if (!KEY_COLUMNS.has(key)) set[key] = sql.raw(`excluded."${column.name}"`);
  }
  return set;
}

/** A literal for LIKE: node ids may hold `_`, a LIKE wildcard. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class PgNodeRunsRepo implements NodeRunsRepo {
  private readonly onConflictSet = excludedSet();

  constructor(
    /** For the flusher's writes and reads of one execution, by an id the engine holds already. */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {}

  /**
   * One multi-row `insert … on conflict do update` per chunk. Within a batch the last row of
   * a key wins (Postgres refuses to update one row twice in a statement). A late non-terminal
   * write (a lagging `running`) never overwrites a `completed` or `skipped` row.
   */
  async upsertMany(rows: readonly NodeRunRow[]): Promise<void> {
    const byKey = new Map<string, NodeRunRow>();
    for (const row of rows) byKey.set(JSON.stringify([row.executionId, row.nodeId, row.iteration]), row);
    const unique = [...byKey.values()];
    const now = new Date();
    for (let i = 0; i < unique.length; i += UPSERT_CHUNK_ROWS) {
      const chunk = unique.slice(i, i + UPSERT_CHUNK_ROWS).map((r) => ({ ...r, input: r.input ?? null, output: r.output ?? null, totalCostUsd: r.cost?.totalCost ?? null, updatedAt: now }));
      try {
        await this.upsertChunk(chunk);
      } catch (err) {
        if (!isForeignKeyViolation(err)) throw err;
        // A node committed after its workspace was deleted: the execution row is gone, and so must
        // its runs be. Without this, the flusher would retry the batch forever and hold up everyone's.
        const ids = [...new Set(chunk.map((r) => r.executionId))];
        const alive = new Set((await this.system.select({ id: executions.id }).from(executions).where(inArray(executions.id, ids))).map((r) => r.id));
        const kept = chunk.filter((r) => alive.has(r.executionId));
        if (kept.length > 0) await this.upsertChunk(kept);
      }
    }
  }

  private async upsertChunk(chunk: (typeof nodeRuns.$inferInsert)[]): Promise<void> {
    await this.system
      .insert(nodeRuns)
      .values(chunk)
      .onConflictDoUpdate({
        target: [nodeRuns.executionId, nodeRuns.nodeId, nodeRuns.iteration],
        set: this.onConflictSet,
        setWhere: sql`not (${nodeRuns.status} in ('completed', 'skipped') and excluded."status" not in ('completed', 'failed', 'skipped', 'cancelled'))`,
      });
  }

  async listVersions(executionId: string): Promise<Map<string, { status: NodeStatus; finishedAt: Date | null }>> {
    if (!isUuid(executionId)) return new Map();
    const rows = await this.system
      .select({ nodeId: nodeRuns.nodeId, iteration: nodeRuns.iteration, status: nodeRuns.status, finishedAt: nodeRuns.finishedAt })
      .from(nodeRuns)
      .where(eq(nodeRuns.executionId, executionId));
    return new Map(rows.map((r) => [`${r.nodeId}#${r.iteration}`, { status: r.status, finishedAt: r.finishedAt }]));
  }

  async listByExecution(executionId: string): Promise<NodeRunRow[]> {
    if (!isUuid(executionId)) return [];
    const rows = await this.system
      .select()
      .from(nodeRuns)
      .where(eq(nodeRuns.executionId, executionId))
      .orderBy(sql`${nodeRuns.startedAt} asc nulls last`, codePointOrder(nodeRuns.nodeId), asc(nodeRuns.iteration));
    return rows.map(toRow);
  }

  async listByNode(input: { workspaceId: string; flowId: string; nodeId: string; mapId?: string; limit: number }): Promise<NodeRunRow[]> {
    if (!isUuid(input.flowId)) return [];
    const node = input.mapId === undefined
      ? eq(nodeRuns.nodeId, input.nodeId)
      : like(nodeRuns.nodeId, `${escapeLike(input.mapId)}[%].${escapeLike(input.nodeId)}`);
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(nodeRuns)
      .where(and(eq(nodeRuns.flowId, input.flowId), node, eq(nodeRuns.workspaceId, input.workspaceId)))
      // Matches node_runs_flow_node_finished_idx (desc nulls last).
      .orderBy(descNullsLast(nodeRuns.finishedAt))
      .limit(Math.max(1, Math.floor(input.limit))));
    return rows.map(toRow);
  }

  async latestCompleted(input: { workspaceId: string; flowId: string; nodeIds: readonly string[] }): Promise<Map<string, NodeRunRow>> {
    if (!isUuid(input.flowId) || input.nodeIds.length === 0) return new Map();
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .selectDistinctOn([nodeRuns.nodeId])
      .from(nodeRuns)
      .where(and(
        eq(nodeRuns.flowId, input.flowId),
        eq(nodeRuns.workspaceId, input.workspaceId),
        inArray(nodeRuns.nodeId, [...input.nodeIds]),
        eq(nodeRuns.status, 'completed'),
      ))
      .orderBy(asc(nodeRuns.nodeId), descNullsLast(nodeRuns.finishedAt)));
    return new Map(rows.map((r) => [r.nodeId, toRow(r)]));
  }
}
