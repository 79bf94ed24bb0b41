/** Execution and node statuses, and the one test of whether an execution is live. */

export const EXECUTION_STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
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

export const NODE_STATUSES = ['pending', 'queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'skipped'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];
export type TerminalNodeStatus = 'completed' | 'failed' | 'skipped';
export const TERMINAL_NODE_STATUSES: ReadonlySet<NodeStatus> = new Set(['completed', 'failed', 'skipped']);
