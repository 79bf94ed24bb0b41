import { bigint, index, integer, jsonb, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import type { WeftEvent } from '@weft/shared/model';
import { executions } from './executions.js';

/**
 * Embedded mode's event history (the in-memory bus keeps it here too), so that an execution's
 * SSE/WebSocket replay survives a restart of the process; Redis streams hold it in distributed
 * mode, and this table stays empty there. `node.token` deltas are not kept. Ordered by the
 * event id `<ms>-<seq>`.
 */
export const executionEvents = pgTable(
  'execution_events',
  {
    executionId: uuid('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id').notNull(),
    ms: bigint('ms', { mode: 'number' }).notNull(),
    seq: integer('seq').notNull(),
    event: jsonb('event').$type<WeftEvent>().notNull(),
  },
  (t) => [
    primaryKey({ name: 'execution_events_pk', columns: [t.executionId, t.ms, t.seq] }),
    index('execution_events_workspace_idx').on(t.workspaceId),
  ],
);
