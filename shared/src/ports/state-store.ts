import type { Spend } from '../engine/spend.js';
import type { ExecutionState } from '../engine/hot-state.js';
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
  /**
   * For a node of a map item (`<map>[<index>].<node>`): which item it belongs to and the map's
   * round its job was enqueued in. The item's value is answered; a job of an earlier round (the
   * item was reset by a retry since) is answered `gone`.
   */
  mapItem?: { mapId: string; index: number; round: number };
}

export type StartNodeResult =
  | { kind: 'started'; input: unknown; results: Record<string, NodeResult>; events: WeftEvent[]; item?: unknown }
  | { kind: 'node-terminal' }
  /** A map item's node that is no longer in hot state, or whose item was reset since its job was enqueued. */
  | { kind: 'gone' }
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
  /** Map nodes this commit ended (their last item finished, or an item failed the map), with their results. */
  settledMaps: SettledMap[];
  /** The round of the map whose item nodes are in `ready` (0 when none): part of their job ids. */
  round: number;
}

export interface SettledMap {
  nodeId: string;
  result: NodeResult;
}

/** One node of a map's sub-graph as hot state keeps it (local ids). */
export interface MapGraphNode extends HotGraphNode {
  /** onError "continue": its failure does not fail the item (unless it is the output node). */
  soft: boolean;
  /** A condition or switch node: a soft failure of it takes none of its edges (others take all). */
  branching: boolean;
}

export interface StartMapInput {
  executionId: string;
  /** The map node (already started: startNode answered `started`). */
  nodeId: string;
  items: unknown[];
  concurrency: number;
  onItemError: 'fail' | 'continue';
  /** Whether the map's own failure ends the execution (its onError is not "continue"). */
  failExecution: boolean;
  /** The sub-graph node whose output fills each slot (local id). */
  output: string;
  /** The sub-graph, in topological order. */
  nodes: MapGraphNode[];
  at: string;
}

export type StartMapResult =
  | {
      kind: 'started';
      /** Item nodes to enqueue now (and, when the map ended at once, the map's ready children). */
      ready: string[];
      round: number;
      /** True when the map was already expanded (a redelivered job): `ready` re-announces queued item nodes. */
      resumed: boolean;
      /** Items reset for another run (a retry): the jobs of their nodes' earlier round are stale. */
      reset: number;
      settledMaps: SettledMap[];
      executionStatus: ExecutionStatus;
      finished: boolean;
      events: WeftEvent[];
    }
  | { kind: 'missing' }
  | { kind: 'node-terminal' }
  | { kind: 'execution-ended'; status: ExecutionStatus };

export type TimeoutMapResult =
  | {
      kind: 'ended';
      /** Item nodes still running: abort them. */
      running: string[];
      /** The map's children ready now (when the map continues on error). */
      ready: string[];
      settledMaps: SettledMap[];
      executionStatus: ExecutionStatus;
      finished: boolean;
      events: WeftEvent[];
    }
  /** The map ended already (or was run again since the timer was set), or the execution is over. */
  | { kind: 'not-running' }
  | { kind: 'missing' };

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
  /** `mapRounds`: each expanded map's round, part of its queued item nodes' job ids. */
  | { kind: 'cancelled'; running: string[]; queued: string[]; mapRounds: Record<string, number>; events: WeftEvent[] }
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
   * What should be enqueued after a node that is already terminal (a redelivered job whose node
   * committed before its worker died): its ready children, and for a map item's node its map's
   * queued item nodes (of `round`). Reads only; null when the execution has no hot state.
   */
  readyAfter(input: { executionId: string; nodeId: string }): Promise<{ ready: string[]; round: number } | null>;
  /**
   * Expands a started map node: stores its items and sub-graph, and releases the first
   * `concurrency` items (their root nodes are answered ready). Each later commit of an item's
   * node releases the next item when one finishes and ends the map when all have (or, with
   * onItemError "fail", when one fails). A map that already ran and was re-opened (retry) keeps
   * its completed items and runs the others again; a redelivered job re-announces queued nodes.
   */
  startMap(input: StartMapInput): Promise<StartMapResult>;
  /** Ends a map still running in `round` failed with `error` (its timeoutMs elapsed). */
  timeoutMap(input: { executionId: string; nodeId: string; round: number; at: string; error: NodeError }): Promise<TimeoutMapResult>;
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
  /** Which of these executions have hot state (one cheap check each). */
  existingExecutions(executionIds: readonly string[]): Promise<Set<string>>;
  /**
   * Writes a rebuilt execution's hot state (engine/rebuild.ts) unless it has some: answers
   * whether it wrote. Appends no event. Used by the recovery sweep when Redis lost the state.
   */
  restoreExecution(state: ExecutionState): Promise<boolean>;
  /** Adds what a failed attempt of a node was billed for (atomic counters). */
  recordSpend(input: { executionId: string; nodeId: string; spend: Spend }): Promise<void>;
  /** Billed spend of failed attempts, per node. */
  getSpend(executionId: string): Promise<Record<string, Spend>>;
  /**
   * Gives an ended execution's hot keys a TTL; called only after Postgres confirmed the final
   * write. An execution running again (re-opened meanwhile) is left alone: answers false.
   */
  expireExecution(executionId: string, ttlSeconds: number): Promise<boolean>;
  appendFlush(entries: readonly FlushEntry[]): Promise<void>;
  /** Reads up to `count` unacknowledged entries for this consumer (claims stale ones of dead consumers). */
  readFlush(consumer: string, count: number, blockMs: number): Promise<FlushRecord[]>;
  ackFlush(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
