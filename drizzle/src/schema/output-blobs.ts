import { index, integer, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { executions } from './executions.js';

/**
 * Offloaded node outputs (claim check, api.md "Large outputs"): the JSON text of an output or
 * resolved input larger than WEFT_CLAIM_CHECK_BYTES, stored once. node_runs, executions and
 * events carry `{ref, size}` in its place. The flusher writes a blob before the node_runs row
 * that references it. Text, not jsonb: the value is opaque here and read back whole.
 */
export const outputBlobs = pgTable(
  'output_blobs',
  {
    executionId: uuid('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    blobId: uuid('blob_id').notNull(),
    workspaceId: uuid('workspace_id').notNull(),
    size: integer('size').notNull(),
    value: text('value').notNull(),
  },
  (t) => [
    primaryKey({ name: 'output_blobs_pk', columns: [t.executionId, t.blobId] }),
    index('output_blobs_workspace_idx').on(t.workspaceId),
  ],
);
