import { and, eq, inArray } from 'drizzle-orm';
import type { OutputBlobRow, OutputBlobsRepo } from '@weft/shared/ports';
import { outputBlobs } from '../schema/index.js';
import type { WeftDb } from './db.js';
import type { TenantScope } from './tenant.js';

/** Rows per INSERT: blobs are large, so a statement carries few of them (the flusher also groups them by bytes). */
const INSERT_CHUNK_ROWS = 20;

/** Offloaded outputs (claim check) in the output_blobs table. */
export class PgOutputBlobsRepo implements OutputBlobsRepo {
  constructor(
    /** The flusher's writes, rows of many workspaces at once: the connecting role. */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {}

  async insertMany(rows: readonly OutputBlobRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK_ROWS) {
      const chunk = rows.slice(i, i + INSERT_CHUNK_ROWS).map((r) => ({
        executionId: r.executionId, blobId: r.blobId, workspaceId: r.workspaceId, size: r.size, value: r.text,
      }));
      await this.system.insert(outputBlobs).values(chunk).onConflictDoNothing();
    }
  }

  async getMany(input: { workspaceId: string; addresses: ReadonlyArray<{ executionId: string; blobId: string }> }): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (input.addresses.length === 0) return found;
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select({ executionId: outputBlobs.executionId, blobId: outputBlobs.blobId, value: outputBlobs.value })
      .from(outputBlobs)
      .where(and(
        eq(outputBlobs.workspaceId, input.workspaceId),
        inArray(outputBlobs.blobId, input.addresses.map((a) => a.blobId)),
      )));
    const wanted = new Set(input.addresses.map((a) => `${a.executionId}:${a.blobId}`));
    for (const row of rows) {
      const key = `${row.executionId}:${row.blobId}`;
      if (wanted.has(key)) found.set(key, row.value);
    }
    return found;
  }
}
