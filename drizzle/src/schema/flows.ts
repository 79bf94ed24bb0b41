import { index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import type { FlowDefinition } from '@weft/shared/flow';
import { timestamptz } from './columns.js';
import { workspaces } from './workspaces.js';

export const flows = pgTable(
  'flows',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    latestVersion: integer('latest_version').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    /** Soft delete: executions keep the version they pinned. */
    deletedAt: timestamptz('deleted_at'),
  },
  (t) => [index('flows_workspace_created_idx').on(t.workspaceId, t.createdAt.desc(), t.id.desc())],
);

/** Immutable: an update of a flow writes a new version. */
export const flowVersions = pgTable(
  'flow_versions',
  {
    flowId: uuid('flow_id')
      .notNull()
      .references(() => flows.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    definition: jsonb('definition').$type<FlowDefinition>().notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'flow_versions_pk', columns: [t.flowId, t.version] })],
);
