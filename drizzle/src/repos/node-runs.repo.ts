import { and, asc, eq, getTableColumns, inArray, like, sql } from 'drizzle-orm';
import type { NodeStatus } from '@weft/shared/model';
import { isUuid } from '@weft/shared/ids';
import { executions, nodeRuns } from '../schema/index.js';
import type { WeftDb } from './db.js';
import { codePointOrder, descNullsLast } from './order.js';
import { sqlStateOf } from './sql-state.js';
import type { TenantScope } from './tenant.js';
import type { NodeRunRow, NodeRunsRepo } from './types.js';
import { runPrepared } from './prepared.js';

/** Rows per statement: each column is one array parameter, so this bounds a statement's size, not its parameters. */
const UPSERT_CHUNK_ROWS = 500;
const KEY_COLUMNS: ReadonlySet<string> = new Set(['executionId', 'nodeId', 'iteration']);

type NodeRunInsert = typeof nodeRuns.$inferInsert;

/**
 * The upsert's columns, each with the Postgres array type its values are sent as and how a row's
 * value becomes an element (jsonb as its JSON text: node-postgres escapes it into the array).
 */
const UPSERT_COLUMNS: ReadonlyArray<{ key: keyof NodeRunInsert; type: string; value: (r: NodeRunInsert) => unknown }> = (() => {
  const json = (key: keyof NodeRunInsert) => (r: NodeRunInsert): string | null => (r[key] === null || r[key] === undefined ? null : JSON.stringify(r[key]));
  const plain = (key: keyof NodeRunInsert) => (r: NodeRunInsert): unknown => r[key] ?? null;
  const types: Partial<Record<keyof NodeRunInsert, string>> = {
    executionId: 'uuid', workspaceId: 'uuid', flowId: 'uuid', iteration: 'int4', attempts: 'int4', runtimeMs: 'int4',
    input: 'jsonb', output: 'jsonb', error: 'jsonb', usage: 'jsonb', cost: 'jsonb', logs: 'jsonb',
    totalCostUsd: 'numeric', startedAt: 'timestamptz', finishedAt: 'timestamptz', updatedAt: 'timestamptz',
  };
  return (Object.keys(getTableColumns(nodeRuns)) as Array<keyof NodeRunInsert>).map((key) => {
    const type = types[key] ?? 'text';
    return { key, type, value: type === 'jsonb' ? json(key) : plain(key) };
  });
})();

/**
 * One statement for any number of rows: each column goes as one array parameter and `unnest`
 * turns them back into rows. Its text never changes, so Postgres plans it once per connection
 * (a named prepared statement), and no query builder walks rows × columns.
 */
const UPSERT_SQL = (() => {
  const columns = getTableColumns(nodeRuns);
  const name = (key: keyof NodeRunInsert): string => `"${columns[key].name}"`;
  const keys = UPSERT_COLUMNS.map((c) => c.key);
  const updates = keys.filter((k) => !KEY_COLUMNS.has(k)).map((k) => `${name(k)} = excluded.${name(k)}`);
  return `insert into "node_runs" (${keys.map(name).join(', ')}) `
    + `select * from unnest(${UPSERT_COLUMNS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')}) `
    + `on conflict ("execution_id", "node_id", "iteration") do update set ${updates.join(', ')} `
    + `where not ("node_runs"."status" in ('completed', 'skipped') and excluded."status" not in ('completed', 'failed', 'skipped', 'cancelled'))`;
})();

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

/** A literal for LIKE: node ids may hold `_`, a LIKE wildcard. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class PgNodeRunsRepo implements NodeRunsRepo {
  constructor(
    /** For the flusher's writes and reads of one execution, by an id the engine holds already. */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {
    // What the flusher reads once per execution it ends, built by drizzle once and prepared by name.
    this.versionsStatement = system
      .select({ nodeId: nodeRuns.nodeId, iteration: nodeRuns.iteration, status: nodeRuns.status, finishedAt: nodeRuns.finishedAt })
      .from(nodeRuns)
      .where(eq(nodeRuns.executionId, sql.placeholder('executionId')))
      .prepare('weft_node_run_versions');
  }

  private readonly versionsStatement;

  /**
   * One `insert … select from unnest(…) on conflict do update` per chunk (UPSERT_SQL). Within a
   * batch the last row of a key wins (Postgres refuses to update one row twice in a statement).
   * A late non-terminal write (a lagging `running`) never overwrites a `completed` or `skipped` row.
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

  private async upsertChunk(chunk: NodeRunInsert[]): Promise<void> {
    const values = UPSERT_COLUMNS.map((c) => chunk.map(c.value));
    await runPrepared(this.system, { name: 'weft_node_runs_upsert', text: UPSERT_SQL, values });
  }

  async listVersions(executionId: string): Promise<Map<string, { status: NodeStatus; finishedAt: Date | null }>> {
    if (!isUuid(executionId)) return new Map();
    const rows = await this.versionsStatement.execute({ executionId });
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
