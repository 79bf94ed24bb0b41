import { bigint, index, integer, jsonb, numeric, pgTable, primaryKey, text, unique, uuid } from 'drizzle-orm/pg-core';
import type { Cost, ExecutionPriority, ExecutionStatus, NodeError, NodeLogEntry, NodeResult, NodeStatus, PricingStatus, Usage } from '@weft/shared/model';
import { timestamptz } from './columns.js';
import { flows } from './flows.js';
import { workspaces } from './workspaces.js';

export type ExecutionError = NodeError & { nodeId?: string };

export const executions = pgTable(
  'executions',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    flowId: uuid('flow_id')
      .notNull()
      .references(() => flows.id, { onDelete: 'cascade' }),
    flowVersion: integer('flow_version').notNull(),
    status: text('status').$type<ExecutionStatus>().notNull(),
    input: jsonb('input').$type<unknown>(),
    output: jsonb('output').$type<unknown>(),
    error: jsonb('error').$type<ExecutionError>(),
    usage: jsonb('usage').$type<Usage>(),
    cost: jsonb('cost').$type<Cost>(),
    /** cost.totalCost as an exact decimal, so SQL sums over runs never drift. */
    totalCostUsd: numeric('total_cost_usd', { precision: 20, scale: 9, mode: 'number' }),
    /** How `cost` was priced over the runs (sumPricing): null when no LLM node ran. */
    pricing: text('pricing').$type<PricingStatus>(),
    /** Tokens of LLM runs that had no price: what `cost` leaves out. */
    unpricedTokens: bigint('unpriced_tokens', { mode: 'number' }),
    /** Unique per workspace (NULLs are distinct); cleared when a key is reused after 24 h. */
    idempotencyKey: text('idempotency_key'),
    /** sha256 of the start request the key was first used with (flow, version, input, budget): a reuse with another is refused. */
    idempotencyFingerprint: text('idempotency_fingerprint'),
    maxCostUsd: numeric('max_cost_usd', { mode: 'number' }),
    /** How its node jobs are ordered in their queues (high, normal, low). */
    priority: text('priority').$type<ExecutionPriority>().notNull().default('normal'),
    /** Set for a single-node run: the one node this execution runs. */
    singleNodeId: text('single_node_id'),
    /** A single-node run's upstream results (node id → NodeResult), read by its templates. */
    presetResults: jsonb('preset_results').$type<Record<string, NodeResult>>(),
    /** The schedule whose tick started it (kept when the schedule is deleted). */
    scheduleId: uuid('schedule_id'),
    /** The inbound webhook whose call started it (kept when the hook is deleted). */
    hookId: uuid('hook_id'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    unique('executions_workspace_idempotency_key_unique').on(t.workspaceId, t.idempotencyKey),
    index('executions_workspace_created_idx').on(t.workspaceId, t.createdAt.desc(), t.id.desc()),
    index('executions_workspace_flow_created_idx').on(t.workspaceId, t.flowId, t.createdAt.desc()),
    // A workspace's live executions by status (GET /v1/queues, workspace deletion).
    index('executions_workspace_status_idx').on(t.workspaceId, t.status),
    // The recovery sweep looks for executions still `running`.
    index('executions_status_idx').on(t.status),
  ],
);

export const nodeRuns = pgTable(
  'node_runs',
  {
    executionId: uuid('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    iteration: integer('iteration').notNull().default(0),
    workspaceId: uuid('workspace_id').notNull(),
    flowId: uuid('flow_id').notNull(),
    nodeType: text('node_type').notNull(),
    status: text('status').$type<NodeStatus>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    input: jsonb('input').$type<unknown>(),
    output: jsonb('output').$type<unknown>(),
    error: jsonb('error').$type<NodeError>(),
    usage: jsonb('usage').$type<Usage>(),
    cost: jsonb('cost').$type<Cost>(),
    /** cost.totalCost as an exact decimal, so SQL sums over runs never drift. */
    totalCostUsd: numeric('total_cost_usd', { precision: 20, scale: 9, mode: 'number' }),
    /** How `cost` was priced (priced, fallback, unpriced); null for nodes that call no model. */
    pricing: text('pricing').$type<PricingStatus>(),
    /** The price-table row the cost used: the model, or the row its alias resolved to. */
    pricedAs: text('priced_as'),
    provider: text('provider'),
    model: text('model'),
    workerId: text('worker_id'),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
    runtimeMs: integer('runtime_ms'),
    /** What the node wrote while it ran (a code node's console, capped by WEFT_CODE_MAX_LOG_BYTES). */
    logs: jsonb('logs').$type<NodeLogEntry[]>(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'node_runs_pk', columns: [t.executionId, t.nodeId, t.iteration] }),
    // A node's run history, newest first.
    index('node_runs_flow_node_finished_idx').on(t.flowId, t.nodeId, t.finishedAt.desc()),
  ],
);
