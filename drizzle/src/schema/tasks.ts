import { index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import type { BackoffPolicy } from '@weft/shared/flow';
import { timestamptz } from './columns.js';
import { executions } from './executions.js';
import { workspaces } from './workspaces.js';

/**
 * Credentials of external workers (`POST /v1/worker-tokens`): scoped to a workspace and to
 * handler names. Only the sha-256 of a token is stored, like API keys.
 */
export const workerTokens = pgTable(
  'worker_tokens',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    tokenHash: text('token_hash').notNull().unique('worker_tokens_token_hash_unique'),
    /** The handler names the token may claim. */
    handlers: jsonb('handlers').$type<string[]>().notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    lastUsedAt: timestamptz('last_used_at'),
  },
  (t) => [index('worker_tokens_workspace_idx').on(t.workspaceId)],
);

/**
 * One row per task node spell: the queue of external work, per (workspace, handler). Claimed
 * with `FOR UPDATE SKIP LOCKED`; `lease_id` fences a lapsed worker's late calls. The input is
 * the rendered template, never a secret (secrets are read at claim time).
 */
export const tasks = pgTable(
  'tasks',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    executionId: uuid('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    flowId: uuid('flow_id').notNull(),
    flowVersion: integer('flow_version').notNull(),
    nodeId: text('node_id').notNull(),
    handler: text('handler').notNull(),
    queue: text('queue'),
    /** queued, claimed, parked (waiting for an outside event), completed, failed, cancelled. */
    status: text('status').notNull(),
    input: jsonb('input'),
    secretNames: jsonb('secret_names').$type<string[]>().notNull(),
    /** Attempts claimed so far. */
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    backoff: jsonb('backoff').$type<BackoffPolicy>(),
    heartbeatTimeoutMs: integer('heartbeat_timeout_ms').notNull(),
    leaseId: uuid('lease_id'),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    workerTokenId: uuid('worker_token_id'),
    availableAt: timestamptz('available_at').notNull().defaultNow(),
    checkpoint: jsonb('checkpoint'),
    progress: jsonb('progress'),
    /** The node's start in hot state: the spell a `wait` resume link names. */
    nodeStartedAt: text('node_started_at').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('tasks_execution_node_unique').on(t.executionId, t.nodeId),
    index('tasks_claim_idx').on(t.workspaceId, t.handler, t.status, t.availableAt),
    // The lease sweep's scan: only claimed rows, by when their lease lapses.
    index('tasks_lease_idx').on(t.leaseExpiresAt).where(sql`${t.status} = 'claimed'`),
  ],
);

/** Every delivery of secrets to a worker (who, which names, which task, when); never a value. */
export const taskSecretDeliveries = pgTable(
  'task_secret_deliveries',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    taskId: uuid('task_id').notNull(),
    executionId: uuid('execution_id').notNull(),
    nodeId: text('node_id').notNull(),
    handler: text('handler').notNull(),
    workerTokenId: uuid('worker_token_id').notNull(),
    attempt: integer('attempt').notNull(),
    secretNames: jsonb('secret_names').$type<string[]>().notNull(),
    deliveredAt: timestamptz('delivered_at').notNull().defaultNow(),
  },
  (t) => [index('task_secret_deliveries_workspace_idx').on(t.workspaceId, t.deliveredAt)],
);
