/** What a node run leaves behind, and the hot view of an execution built from those results. */
import type { ErrorCategory, StoredErrorCode } from './error-codes.js';
import type { ExecutionStatus, NodeStatus, TerminalNodeStatus } from './statuses.js';
import type { Cost, PricingStatus, Usage } from './usage.js';

/** An error as it is stored and sent: its code is a catalog code, lowercased (errors/to-node-error.ts makes it). */
export interface NodeError {
  code: StoredErrorCode;
  category: ErrorCategory;
  message: string;
}

/** One line a node wrote while it ran (a code node's console), as stored on its run. */
export interface NodeLogEntry {
  level: 'log' | 'info' | 'warn' | 'error' | 'debug';
  message: string;
}

/** The committed result of one node run; what hot state stores and node_runs persists. */
export interface NodeResult {
  status: TerminalNodeStatus;
  output: unknown;
  error: NodeError | null;
  usage: Usage | null;
  cost: Cost | null;
  /**
   * How `cost` was priced (LLM nodes); absent or null for nodes that call no model. Optional so
   * that results written before it existed still read.
   */
  pricing?: PricingStatus | null;
  /** The price-table row the cost used (the model itself, or what its alias resolved to). */
  pricedAs?: string | null;
  attempts: number;
  /** The node's input after template resolution (prompt text, expression input…). */
  input: unknown;
  provider: string | null;
  model: string | null;
  workerId: string | null;
  startedAt: string | null;
  finishedAt: string;
  runtimeMs: number | null;
  /** What the node wrote while it ran (a code node's console, size-capped); absent or null: nothing. */
  logs?: NodeLogEntry[] | null;
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

/** What identifies an execution and where it stands: shared by its hot views. */
export interface ExecutionHeader {
  executionId: string;
  workspaceId: string;
  flowId: string;
  flowVersion: number;
  status: ExecutionStatus;
  input: unknown;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface HotExecution extends ExecutionHeader {
  nodes: Record<string, HotNodeState>;
  /** Why the execution ended, when it was not a node's failure (execution_timeout). */
  error?: NodeError;
}
