/** Execution and node statuses, and the one test of whether an execution is live. */

export const EXECUTION_STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
/** How an execution's node jobs are ordered in their queues (POST …/executions `priority`). */
export const EXECUTION_PRIORITIES = ['high', 'normal', 'low'] as const;
export type ExecutionPriority = (typeof EXECUTION_PRIORITIES)[number];

export const TERMINAL_EXECUTION_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'cancelled']);

/** A started execution that has not ended: its nodes may start, commit and wait. */
export type LiveExecutionStatus = 'running' | 'waiting';

/**
 * Whether an execution's hot state takes node transitions (start, commit, wait, cancel): it
 * runs or waits. A queued execution has no hot state yet; an ended one takes none. The Lua
 * twin is `isLive` in adapters/redis/lua/includes/live.lua.
 */
export function isLive(status: ExecutionStatus | undefined): status is LiveExecutionStatus {
  return status === 'running' || status === 'waiting';
}

export const NODE_STATUSES = ['pending', 'queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'skipped', 'cancelled'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];
/**
 * `cancelled`: the node had started when its execution was cancelled (or its map was cut), and
 * its run was aborted; its error is node_cancelled and it keeps its start time. A retry runs it
 * again, as a failed one.
 */
export type TerminalNodeStatus = 'completed' | 'failed' | 'skipped' | 'cancelled';
export const TERMINAL_NODE_STATUSES: ReadonlySet<NodeStatus> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/** A node that stopped without an output: failed, or cancelled while it ran. A retry runs it again. */
export function endedUnfinished(status: NodeStatus | undefined): status is 'failed' | 'cancelled' {
  return status === 'failed' || status === 'cancelled';
}
