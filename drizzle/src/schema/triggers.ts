import { boolean, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import type { HookSignatureScheme } from '@weft/shared/triggers';
import { bytea, timestamptz } from './columns.js';
import { flows } from './flows.js';
import { workspaces } from './workspaces.js';

/** The key and owners of a trigger: deleted with its flow or its workspace. */
function triggerColumns() {
  return {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    flowId: uuid('flow_id')
      .notNull()
      .references(() => flows.id, { onDelete: 'cascade' }),
  };
}

/** A flow started at each time of a cron pattern (architecture.md, "Triggers"). */
export const schedules = pgTable(
  'schedules',
  {
    ...triggerColumns(),
    cron: text('cron').notNull(),
    timezone: text('timezone').notNull(),
    input: jsonb('input').$type<unknown>(),
    paused: boolean('paused').notNull().default(false),
    /** The newest tick recorded (started or skipped): embedded mode's catch-up after a restart starts from it. */
    lastTickAt: timestamptz('last_tick_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('schedules_workspace_flow_idx').on(t.workspaceId, t.flowId, t.createdAt)],
);

/** What each tick of a schedule did: one row per (schedule, tick time), the newest kept. */
export const scheduleTicks = pgTable(
  'schedule_ticks',
  {
    scheduleId: uuid('schedule_id')
      .notNull()
      .references(() => schedules.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    tickAt: timestamptz('tick_at').notNull(),
    /** started | skipped. */
    outcome: text('outcome').$type<'started' | 'skipped'>().notNull(),
    /** Why a tick was skipped (workspace_quota, flow_missing). */
    reason: text('reason'),
    executionId: uuid('execution_id'),
    recordedAt: timestamptz('recorded_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'schedule_ticks_pk', columns: [t.scheduleId, t.tickAt] })],
);

/**
 * Inbound webhooks: `POST /v1/hooks/<token>` starts the flow. Only the sha-256 of the token is
 * stored; the signing secret (optional) is sealed like workspace secrets.
 */
export const hooks = pgTable(
  'hooks',
  {
    ...triggerColumns(),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique('hooks_token_hash_unique'),
    prefix: text('prefix').notNull(),
    /** Request headers (lowercase names) passed to the flow's input. */
    headers: jsonb('headers').$type<string[]>().notNull(),
    signatureScheme: text('signature_scheme').$type<HookSignatureScheme>(),
    secretCiphertext: bytea('secret_ciphertext'),
    secretIv: bytea('secret_iv'),
    secretTag: bytea('secret_tag'),
    secretKeyVersion: integer('secret_key_version'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    lastUsedAt: timestamptz('last_used_at'),
  },
  (t) => [index('hooks_workspace_flow_idx').on(t.workspaceId, t.flowId, t.createdAt)],
);
