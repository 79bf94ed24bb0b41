/** Runtime model shared by the api, the worker and every adapter. */
import type { ErrorCategory } from '../errors/codes.js';

export const EXECUTION_STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const TERMINAL_EXECUTION_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'cancelled']);

export const NODE_STATUSES = ['pending', 'queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'skipped'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];
export type TerminalNodeStatus = 'completed' | 'failed' | 'skipped';
export const TERMINAL_NODE_STATUSES: ReadonlySet<NodeStatus> = new Set(['completed', 'failed', 'skipped']);

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
}

export interface Cost {
  inputCost: number;
  outputCost: number;
  reasoningCost: number;
  totalCost: number;
}

export interface NodeError {
  code: string;
  category: ErrorCategory;
  message: string;
}

/** The committed result of one node run; what hot state stores and node_runs persists. */
export interface NodeResult {
  status: TerminalNodeStatus;
  output: unknown;
  error: NodeError | null;
  usage: Usage | null;
  cost: Cost | null;
  attempts: number;
  /** The node's input after template resolution (prompt text, expression input…). */
  input: unknown;
  provider: string | null;
  model: string | null;
  workerId: string | null;
  startedAt: string | null;
  finishedAt: string;
  runtimeMs: number | null;
}

/** Hot view of one node while an execution is live. */
export interface HotNodeState {
  status: NodeStatus;
  attempts: number;
  startedAt: string | null;
  workerId: string | null;
  result: NodeResult | null;
  /** Set while the node waits for an event: the resume token's sha-256 hex. */
  waitTokenHash?: string;
}

export interface HotExecution {
  executionId: string;
  workspaceId: string;
  flowId: string;
  flowVersion: number;
  status: ExecutionStatus;
  input: unknown;
  startedAt: string | null;
  finishedAt: string | null;
  nodes: Record<string, HotNodeState>;
  /** Why the execution ended, when it was not a node's failure (execution_timeout). */
  error?: NodeError;
}

export const EVENT_TYPES = [
  'execution.queued',
  'execution.started',
  'execution.waiting',
  'execution.resumed',
  'execution.completed',
  'execution.failed',
  'execution.cancelled',
  'node.started',
  'node.token',
  'node.retrying',
  'node.waiting',
  'node.completed',
  'node.failed',
  'node.skipped',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface WeftEvent {
  /** Stream id of the per-execution event stream (`<ms>-<seq>`), monotonic per execution. */
  id: string;
  type: EventType;
  executionId: string;
  flowId: string;
  workspaceId: string;
  nodeId?: string;
  at: string;
  data: Record<string, unknown>;
}

export type EventDraft = Omit<WeftEvent, 'id'>;

export const TERMINAL_EVENT_TYPES: ReadonlySet<EventType> = new Set([
  'execution.completed',
  'execution.failed',
  'execution.cancelled',
]);

export function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 };
}
