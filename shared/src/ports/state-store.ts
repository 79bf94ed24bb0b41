import type { Spend } from '../engine/spend.js';
import type { ExecutionStatus, HotExecution, NodeError, NodeResult, WeftEvent } from '../engine/types.js';

/** One node of the graph as hot state needs it. */
export interface HotGraphNode {
  id: string;
  /** Number of incoming edges (not distinct parents: one per edge). */
  parentCount: number;
  children: string[];
}

export interface InitExecutionInput {
  executionId: string;
  workspaceId: string;
  flowId: string;
  flowVersion: number;
  input: unknown;
  nodes: HotGraphNode[];
  at: string;
  /**
   * Results of nodes outside `nodes` that the graph's templates read (a single-node run's
   * upstream outputs from earlier executions). Stored with the results so startNode finds them,
   * but not part of the execution: not counted, no events, left out of getExecution. Ids that
   * are in `nodes` are ignored.
   */
  presetResults?: Record<string, NodeResult>;
}

export interface InitExecutionResult {
  /** False when hot state already existed (redelivered job): nothing was written. */
  created: boolean;
  status: ExecutionStatus;
  /** Root nodes that are not terminal yet: enqueue them (again). */
  ready: string[];
  /** Events this call appended (execution.started when created). */
  events: WeftEvent[];
}

export interface StartNodeInput {
  executionId: string;
  nodeId: string;
  attempt: number;
  workerId: string;
  at: string;
  /** Upstream node ids whose results the node's templates need. */
  readResultsOf: string[];
}

export type StartNodeResult =
  | { kind: 'started'; input: unknown; results: Record<string, NodeResult>; events: WeftEvent[] }
  | { kind: 'node-terminal' }
  | { kind: 'execution-ended'; status: ExecutionStatus }
  | { kind: 'missing' };

export interface CommitNodeInput {
  executionId: string;
  nodeId: string;
  result: NodeResult;
  /**
   * Children whose incoming edge from this node is taken. Completed plain nodes take all;
   * a failed node with onError "fail" takes none and fails the execution.
   */
  takenChildren: string[];
  failExecution: boolean;
  at: string;
}

export interface CommitNodeResult {
  /** False when the node already had a result (redelivery): nothing was written. */
  committed: boolean;
  /** Children of this node that are ready and not terminal: enqueue them (again). */
  ready: string[];
  /** Nodes marked skipped by this commit (propagated). */
  skipped: string[];
  executionStatus: ExecutionStatus;
  /** True when this commit ended the execution. */
  finished: boolean;
  events: WeftEvent[];
}

/** An entry of the flush log: what must reach Postgres. */
export type FlushEntry =
  | {
      kind: 'node';
      executionId: string;
      nodeId: string;
      result: NodeResult;
      /** Context for the node_runs row; the flusher falls back to hot state when absent. */
      workspaceId?: string;
      flowId?: string;
      nodeType?: string;
    }
  | { kind: 'execution'; executionId: string };

export interface FlushRecord {
  id: string;
  entry: FlushEntry;
}

export type ReopenNodesResult =
  | { kind: 'reopened'; ready: string[]; events: WeftEvent[] }
  | { kind: 'missing' }
  | { kind: 'not-failed'; nodeId: string };

export type CancelExecutionResult =
  | { kind: 'cancelled'; running: string[]; queued: string[]; events: WeftEvent[] }
  | { kind: 'missing' }
  | { kind: 'ended'; status: ExecutionStatus };

export type WaitNodeResult =
  | { kind: 'waiting'; events: WeftEvent[] }
  | { kind: 'missing' }
  | { kind: 'node-terminal' }
  | { kind: 'execution-ended'; status: ExecutionStatus };

export interface StateStore {
  initExecution(input: InitExecutionInput): Promise<InitExecutionResult>;
  startNode(input: StartNodeInput): Promise<StartNodeResult>;
  commitNode(input: CommitNodeInput): Promise<CommitNodeResult>;
  /**
   * Re-opens failed nodes (they must all have a failed result): the execution runs again and
   * the nodes ready now are answered; enqueue them. Hot state loses the TTL it was given.
   */
  reopenNodes(input: { executionId: string; nodeIds: readonly string[]; at: string }): Promise<ReopenNodesResult>;
  /** Suspends a wait node (its resume token hashed), appending node.waiting with `data`. */
  waitNode(input: { executionId: string; nodeId: string; at: string; tokenHash: string | null; data: Record<string, unknown> }): Promise<WaitNodeResult>;
  /**
   * Cancels a live execution (or, with `endAs`, fails it with that error: execution timeout);
   * answers its running nodes (to abort) and queued ones (to remove).
   */
  cancelExecution(input: { executionId: string; at: string; endAs?: { status: 'failed'; error: NodeError } }): Promise<CancelExecutionResult>;
  getExecution(executionId: string): Promise<HotExecution | null>;
  /** Adds what a failed attempt of a node was billed for (atomic counters). */
  recordSpend(input: { executionId: string; nodeId: string; spend: Spend }): Promise<void>;
  /** Billed spend of failed attempts, per node. */
  getSpend(executionId: string): Promise<Record<string, Spend>>;
  /** Gives the execution's hot keys a TTL; called only after Postgres confirmed the final write. */
  expireExecution(executionId: string, ttlSeconds: number): Promise<void>;
  appendFlush(entries: readonly FlushEntry[]): Promise<void>;
  /** Reads up to `count` unacknowledged entries for this consumer (claims stale ones of dead consumers). */
  readFlush(consumer: string, count: number, blockMs: number): Promise<FlushRecord[]>;
  ackFlush(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
