import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { FlowDefinition } from '@weft/shared/flow';
import { isUuid, newId } from '@weft/shared/ids';
import { flows, flowVersions } from '../schema/index.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { WeftDb } from './db.js';
import { descNullsLast } from './order.js';
import type { TenantScope } from './tenant.js';
import type { FlowRecord, FlowsRepo, Page } from './types.js';

type FlowRow = typeof flows.$inferSelect;
type FlowVersionRow = typeof flowVersions.$inferSelect;

/** `updatedAt` is when this version was written; the definition's own keys never override ours. */
function toRecord(flow: FlowRow, version: FlowVersionRow): FlowRecord {
  return {
    ...version.definition,
    id: flow.id,
    workspaceId: flow.workspaceId,
    version: version.version,
    createdAt: flow.createdAt,
    updatedAt: version.createdAt,
  };
}

export class PgFlowsRepo implements FlowsRepo {
  constructor(
    /** Engine-internal reads by an id the engine resolved already: the connecting role. */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {}

  async create(input: { workspaceId: string; flow: FlowDefinition }): Promise<FlowRecord> {
    const now = new Date();
    const flow: FlowRow = {
      id: newId(),
      workspaceId: input.workspaceId,
      name: input.flow.name,
      latestVersion: 1,
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    };
    const version: FlowVersionRow = { flowId: flow.id, version: 1, definition: input.flow, createdAt: now };
    await this.tenant(input.workspaceId, async (tx) => {
      await tx.insert(flows).values(flow);
      await tx.insert(flowVersions).values(version);
    });
    return toRecord(flow, version);
  }

  async get(input: { workspaceId: string; flowId: string; version?: number }): Promise<FlowRecord | null> {
    if (!isUuid(input.flowId) || (input.version !== undefined && !Number.isSafeInteger(input.version))) return null;
    const wanted = input.version ?? flows.latestVersion;
    const [row] = await this.tenant(input.workspaceId, (tx) => tx
      .select({ flow: flows, version: flowVersions })
      .from(flows)
      .innerJoin(flowVersions, and(eq(flowVersions.flowId, flows.id), eq(flowVersions.version, wanted)))
      .where(and(eq(flows.id, input.flowId), eq(flows.workspaceId, input.workspaceId), isNull(flows.deletedAt))));
    return row ? toRecord(row.flow, row.version) : null;
  }

  async list(input: { workspaceId: string; limit: number; cursor?: string }): Promise<Page<FlowRecord>> {
    const conditions: SQL[] = [eq(flows.workspaceId, input.workspaceId), isNull(flows.deletedAt)];
    if (input.cursor !== undefined) {
      const c = decodeCursor(input.cursor);
      conditions.push(sql`(${flows.createdAt}, ${flows.id}) < (${c.createdAt.toISOString()}::timestamptz, ${c.id}::uuid)`);
    }
    const limit = Math.max(1, Math.floor(input.limit));
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select({ flow: flows, version: flowVersions })
      .from(flows)
      .innerJoin(flowVersions, and(eq(flowVersions.flowId, flows.id), eq(flowVersions.version, flows.latestVersion)))
      .where(and(...conditions))
      .orderBy(descNullsLast(flows.createdAt), descNullsLast(flows.id))
      .limit(limit + 1));
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => toRecord(r.flow, r.version)),
      nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.flow.createdAt, id: last.flow.id }) : null,
    };
  }

  async update(input: { workspaceId: string; flowId: string; flow: FlowDefinition }): Promise<FlowRecord | null> {
    if (!isUuid(input.flowId)) return null;
    const now = new Date();
    return this.tenant(input.workspaceId, async (tx) => {
      // The row lock taken here serialises concurrent updates: each gets its own version.
      const [flow] = await tx
        .update(flows)
        .set({ latestVersion: sql`${flows.latestVersion} + 1`, name: input.flow.name, updatedAt: now })
        .where(and(eq(flows.id, input.flowId), eq(flows.workspaceId, input.workspaceId), isNull(flows.deletedAt)))
        .returning();
      if (!flow) return null;
      const version: FlowVersionRow = { flowId: flow.id, version: flow.latestVersion, definition: input.flow, createdAt: now };
      await tx.insert(flowVersions).values(version);
      return toRecord(flow, version);
    });
  }

  async delete(input: { workspaceId: string; flowId: string }): Promise<boolean> {
    if (!isUuid(input.flowId)) return false;
    const now = new Date();
    const deleted = await this.tenant(input.workspaceId, (tx) => tx
      .update(flows)
      .set({ deletedAt: now, updatedAt: now })
      .where(and(eq(flows.id, input.flowId), eq(flows.workspaceId, input.workspaceId), isNull(flows.deletedAt)))
      .returning({ id: flows.id }));
    return deleted.length > 0;
  }

  /** System: the flow cache of workers and the api reads a pinned version by the id of a row it read already. */
  async getVersion(flowId: string, version: number): Promise<FlowRecord | null> {
    if (!isUuid(flowId) || !Number.isSafeInteger(version)) return null;
    const [row] = await this.system
      .select({ flow: flows, version: flowVersions })
      .from(flows)
      .innerJoin(flowVersions, eq(flowVersions.flowId, flows.id))
      .where(and(eq(flows.id, flowId), eq(flowVersions.version, version)));
    return row ? toRecord(row.flow, row.version) : null;
  }
}
