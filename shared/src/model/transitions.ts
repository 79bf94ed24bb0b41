/**
 * The inputs and outcomes of hot-state transitions: what the StateStore port takes and answers,
 * and what the pure engine (engine/apply-*.ts) computes for the in-memory adapter.
 */
import type { ExecutionStatus } from './statuses.js';
import type { NodeResult } from './node-result.js';
import type { EventSummary, WeftEvent } from './events.js';
import type { HotGraphNode, MapGraphNode } from './hot-state.js';

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
  /**
   * A root to start in the same step when this call creates the execution (its execution job runs
   * it at once, run-engine/eager-dispatch.ts): marked running as attempt 1 of `workerId`, its
   * node.started appended after execution.started, and left out of `ready`. Ignored by a call
   * that creates nothing, and for a node that is not a root.
   */
  startRoot?: { nodeId: string; workerId: string; readResultsOf: string[] };
}

export interface InitExecutionResult {
  /** False when hot state already existed (redelivered job): nothing was written. */
  created: boolean;
  status: ExecutionStatus;
  /** Root nodes that are not terminal yet: enqueue them (again). */
  ready: string[];
  /** Events this call appended (execution.started when created, then the started root's node.started). */
  events: WeftEvent[];
  /** The root `startRoot` asked for, started: what startNode would have answered for it. */
  root?: EagerStart;
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
  /**
   * commitIntent's soft: a failure the flow continues past. A map item's node records it in its
   * map's record with the edges it took, so that the item's end and a retry apply it as data.
   */
  soft: boolean;
  at: string;
  /**
   * Eager dispatch: start children that this commit makes ready (up to `max`) in the same step, to
   * run on the committing worker at once instead of through the queue (run-engine/eager-dispatch.ts).
   */
  eager?: EagerRequest;
  /**
   * What the node's flush entry carries besides its result. A store that can append the entry in
   * the commit's own step (Redis on one server) does, with the execution's end entry when the
   * commit ended it, and answers `flushed`.
   */
  flush?: { workspaceId: string; flowId: string; nodeType: string };
}

/** A child the committing worker may run at once, with what its start needs. */
export interface EagerCandidate {
  nodeId: string;
  /** Ids whose results the child's templates read (as StartNodeInput.readResultsOf). */
  readResultsOf: string[];
  /** A node of the committing node's own map item: its map and index (the round is the item's). */
  mapItem?: { mapId: string; index: number };
}

export interface EagerRequest {
  /** In order of preference: the first `max` that this commit made ready are started. */
  candidates: EagerCandidate[];
  /** How many children the worker can run at once (its free job slots, plus the committing one); 1 when absent. */
  max?: number;
  /**
   * The queue job the worker runs the child under: its lease. If the worker dies, that job's
   * redelivery re-enqueues what ran under it (readyAfter with `leaseJobId`).
   */
  leaseJobId: string;
  workerId: string;
}

/** The child a commit started for its worker (eager dispatch): what startNode would have answered. */
export interface EagerStart {
  nodeId: string;
  input: unknown;
  results: Record<string, NodeResult>;
  /** A map item's node: its item's value. */
  item?: unknown;
  mapItem?: { mapId: string; index: number; round: number };
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
  /**
   * The events the commit appended, by type and node, in order. Their bodies are on the event
   * bus; the commit's caller reads only which they were (a node's output is not sent back).
   */
  events: EventSummary[];
  /** Map nodes this commit ended (their last item finished, or an item failed the map), with their results. */
  settledMaps: SettledMap[];
  /** The round of the map whose item nodes are in `ready` (0 when none): part of their job ids. */
  round: number;
  /** The child started for the committing worker (CommitNodeInput.eager); it is not in `ready`. */
  eager?: EagerStart;
  /** The other children started for it (`max` > 1), in the candidates' order; not in `ready` either. */
  eagerMore?: EagerStart[];
  /** True when the commit appended the node's flush entry itself, and the execution's end if it ended it (CommitNodeInput.flush). */
  flushed?: boolean;
}

export interface SettledMap {
  nodeId: string;
  result: NodeResult;
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
