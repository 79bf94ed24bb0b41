/**
 * The execution document of api.md as named schemas (components of /openapi.json): an answer is
 * serialised with these, so every field the document carries is listed here, none left as
 * additional properties (execution-view.ts builds it; the contract tests check that nothing
 * built is dropped).
 */
import { EVENT_TYPES, EXECUTION_PRIORITIES, EXECUTION_STATUSES, NODE_STATUSES, PRICING_STATUSES } from '@weft/shared/model';
import { Type, type TSchema } from 'typebox';
import { DateTime, Uuid } from './common-schemas.js';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const UsageSchema = Type.Object({
  promptTokens: Type.Integer({ minimum: 0 }),
  completionTokens: Type.Integer({ minimum: 0 }),
  reasoningTokens: Type.Integer({ minimum: 0 }),
  cachedTokens: Type.Integer({ minimum: 0 }),
  totalTokens: Type.Integer({ minimum: 0 }),
}, { title: 'Usage', description: 'Tokens of LLM calls' });

export const CostSchema = Type.Object({
  inputCost: Type.Number(),
  outputCost: Type.Number(),
  reasoningCost: Type.Number(),
  totalCost: Type.Number(),
}, { title: 'Cost', description: 'US dollars' });

export const PricingSchema = Type.Enum([...PRICING_STATUSES], {
  title: 'Pricing', description: 'How a cost was priced: from the price table, with the fallback price, or not at all',
});

export const NodeErrorSchema = Type.Object({
  code: Type.String({ description: 'lowercase error code, e.g. llm_timeout' }),
  category: Type.Enum(['transient', 'permanent', 'dependency']),
  message: Type.String(),
}, { title: 'NodeError' });

export const ExecutionErrorSchema = Type.Object({
  ...NodeErrorSchema.properties,
  nodeId: Type.Optional(Type.String({ description: 'The node whose failure ended the execution' })),
}, { title: 'ExecutionError' });

export const ExecutionStatusSchema = Type.Enum([...EXECUTION_STATUSES], { title: 'ExecutionStatus' });
export const NodeStatusSchema = Type.Enum([...NODE_STATUSES], {
  title: 'NodeStatus',
  description: 'pending: never started; skipped: a branch not taken or an upstream failure; cancelled: started, then aborted by a cancel',
});

export const NodeLogEntrySchema = Type.Object({
  level: Type.Enum(['log', 'info', 'warn', 'error', 'debug']),
  message: Type.String(),
}, { title: 'NodeLogEntry' });

export const ExecutionNodeSchema = Type.Object({
  nodeId: Type.String({ description: 'The node id, or `<map>[<index>].<node>` for a node of a map item' }),
  status: NodeStatusSchema,
  attempts: Type.Integer({ minimum: 0 }),
  output: Type.Unknown({ description: 'Any JSON; a value stored apart is {ref, size} unless ?include=outputs' }),
  error: Nullable(NodeErrorSchema),
  usage: Nullable(UsageSchema),
  cost: Nullable(CostSchema),
  pricing: Nullable(PricingSchema),
  pricedAs: Nullable(Type.String()),
  provider: Nullable(Type.String()),
  model: Nullable(Type.String()),
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
  runtimeMs: Nullable(Type.Integer({ minimum: 0 })),
  logs: Type.Optional(Type.Array(NodeLogEntrySchema, { description: 'What the node wrote while it ran; absent: nothing' })),
  resumeUrl: Type.Optional(Type.String({ format: 'uri', description: 'A waiting node: the link that resumes it' })),
  resumeUrlExpiresAt: Type.Optional(DateTime),
  task: Type.Optional(Type.Object({
    taskId: Uuid,
    handler: Type.String(),
    status: Type.Enum(['queued', 'claimed', 'parked', 'completed', 'failed', 'cancelled']),
    attempt: Type.Integer({ minimum: 0 }),
    progress: Nullable(Type.Object({
      percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
      message: Type.Optional(Type.String()),
      eta: Type.Optional(DateTime),
      at: DateTime,
    }, { title: 'TaskProgress' })),
    leaseExpiresAt: Nullable(DateTime),
  }, { title: 'TaskState', description: 'A waiting task node: its external task (docs/api.md, "External tasks")' })),
}, { title: 'ExecutionNode' });

const executionProperties = {
  id: Uuid,
  flowId: Uuid,
  flowVersion: Type.Integer({ minimum: 1 }),
  status: ExecutionStatusSchema,
  priority: Type.Enum([...EXECUTION_PRIORITIES], { description: "The start's priority: the order of its node jobs in their queues" }),
  input: Type.Unknown({ description: 'Any JSON, as given at the start' }),
  output: Type.Unknown({ description: 'Any JSON: the output node’s output, or an object of the leaves’ outputs' }),
  error: Nullable(ExecutionErrorSchema),
  usage: Nullable(UsageSchema),
  cost: Nullable(CostSchema),
  pricing: Nullable(PricingSchema),
  unpricedTokens: Nullable(Type.Integer({ minimum: 0 })),
  scheduleId: Type.Optional(Type.String({ format: 'uuid', description: 'The schedule whose tick started it; absent for other starts' })),
  hookId: Type.Optional(Type.String({ format: 'uuid', description: 'The inbound webhook whose call started it; absent for other starts' })),
  createdAt: DateTime,
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
};

export const ExecutionSchema = Type.Object({
  ...executionProperties,
  nodes: Type.Array(ExecutionNodeSchema, { description: "In the flow's order; a map node is followed by its items' nodes" }),
}, { title: 'Execution' });

export const ExecutionSummarySchema = Type.Object(executionProperties, { title: 'ExecutionSummary', description: 'An execution as listed: without its nodes' });

export const ExecutionPageSchema = Type.Object({
  items: Type.Array(ExecutionSummarySchema),
  nextCursor: Nullable(Type.String()),
}, { title: 'ExecutionPage' });

export const WaitingNodeSchema = Type.Object({
  nodeId: Type.String({ description: 'The waiting node, or `<map>[<index>].<node>`' }),
  resumeUrl: Type.Optional(Type.String({ format: 'uri', description: 'A node waiting for an approval or a webhook: the link that resumes it (absent for a timer or a task)' })),
  resumeUrlExpiresAt: Type.Optional(DateTime),
}, { title: 'WaitingNode' });

export const ExecutionAcceptedSchema = Type.Object({
  executionId: Uuid,
  status: ExecutionStatusSchema,
  waiting: Type.Optional(Type.Array(WaitingNodeSchema, {
    description: '`wait: true` and the execution waits (status `waiting`): the nodes it waits on, with their resume links',
  })),
}, { title: 'ExecutionAccepted', description: 'Started: follow it with GET /v1/executions/{id} or its events. With `wait: true`, the status it has when the answer is sent' });

export const ResumeAcceptedSchema = Type.Object(
  { executionId: Uuid, nodeId: Type.String(), status: Type.Literal('resuming') },
  { title: 'ResumeAccepted', description: 'The node resumes with the data as its output' },
);

export const NodeRunSchema = Type.Object({
  executionId: Uuid,
  nodeId: Type.String({ description: "The run's node id: the node's own, or `<map>[<index>].<node>`" }),
  iteration: Type.Integer({ minimum: 0, description: "0, or the item's index for a node of a map's sub-graph" }),
  status: NodeStatusSchema,
  attempts: Type.Integer({ minimum: 0 }),
  provider: Nullable(Type.String()),
  model: Nullable(Type.String()),
  usage: Nullable(UsageSchema),
  cost: Nullable(CostSchema),
  pricing: Nullable(PricingSchema),
  pricedAs: Nullable(Type.String()),
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
  runtimeMs: Nullable(Type.Integer({ minimum: 0 })),
  error: Nullable(NodeErrorSchema),
  logs: Nullable(Type.Array(NodeLogEntrySchema)),
}, { title: 'NodeRun' });

const EVENT_NAMES: Record<(typeof EVENT_TYPES)[number], string> = Object.fromEntries(
  EVENT_TYPES.map((t) => [t, `${t.split(/[.]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Event`]),
) as Record<(typeof EVENT_TYPES)[number], string>;

/** One schema per event type (`NodeCompletedEvent` …), the frames of SSE and of the WebSocket. */
export const EventSchemas = EVENT_TYPES.map((type) => Type.Object({
  id: Type.String({ description: 'Stream id (`<ms>-<seq>`), monotonic per execution: Last-Event-ID / afterId' }),
  type: Type.Literal(type),
  executionId: Uuid,
  flowId: Uuid,
  workspaceId: Uuid,
  ...(type.startsWith('node.') ? { nodeId: Type.String() } : {}),
  at: DateTime,
  data: Type.Record(Type.String(), Type.Unknown(), { description: 'What the event carries (api.md, "Live events")' }),
}, { title: EVENT_NAMES[type] }));

export const EventSchema = Type.Union(EventSchemas, { title: 'Event', description: 'An execution event, by type' });
