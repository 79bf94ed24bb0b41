/** Execution hot state as a record: what the Redis hashes (adapters/redis/keys.ts) and the memory store hold. */
import type { NodeStatus } from './statuses.js';
import type { ExecutionHeader, NodeError, NodeResult } from './node-result.js';

/** One node of the graph as hot state needs it. */
export interface HotGraphNode {
  id: string;
  /** Number of incoming edges (not distinct parents: one per edge). */
  parentCount: number;
  children: string[];
}

/** One node of a map's sub-graph as hot state keeps it (local ids). */
export type MapGraphNode = HotGraphNode;

/** A map node's progress in hot state (apply-map.ts); stored as JSON in the `maps` hash. */
export interface MapRecord {
  state: 'running' | 'ended';
  count: number;
  concurrency: number;
  onItemError: 'fail' | 'continue';
  failExecution: boolean;
  output: string;
  nodes: MapGraphNode[];
  /** One character per item: `.` waiting, `r` running, `c` completed, `f` failed. */
  items: string;
  /** Items released and not ended. */
  active: number;
  /** Incremented each time a retry runs the map again; part of its item nodes' job ids. */
  round: number;
  /**
   * Item nodes (hot-state ids) whose failure was soft (commitIntent's soft, passed by their
   * commit), with the children that failure took: such a failure is not why its item failed,
   * and a retry undoes exactly those edges. Absent when there is none.
   */
  softTaken?: Record<string, string[]>;
}

/** A non-terminal node's entry of the status hash. */
export interface NodeStatusEntry {
  status: NodeStatus;
  attempts: number;
  startedAt: string | null;
  workerId: string | null;
  /** A waiting node's resume token, hashed (sha-256 hex); the plaintext is only in node.waiting. */
  tokenHash?: string;
}

/** One execution's hot state; mirrors the Redis hashes of adapters/redis/keys.ts. */
export interface ExecutionState extends ExecutionHeader {
  total: number;
  /** Nodes not terminal yet; the execution completes when it reaches 0. */
  remaining: number;
  /** Non-terminal nodes only. */
  statuses: ReadonlyMap<string, NodeStatusEntry>;
  /** Terminal nodes only. */
  results: ReadonlyMap<string, NodeResult>;
  /** Incoming edges whose parent is not terminal yet. */
  pending: ReadonlyMap<string, number>;
  /** Incoming edges taken so far (absent = 0). */
  taken: ReadonlyMap<string, number>;
  /** Every node of the graph has an entry (leaves: empty). */
  children: ReadonlyMap<string, readonly string[]>;
  /** Ids of preset results (InitExecutionInput.presetResults): read by nodes, not part of the execution. */
  presets: readonly string[];
  /** Why the execution ended when no node's failure says it (execution_timeout). */
  error?: NodeError;
  /** Map nodes that were expanded, by id (apply-map.ts). */
  maps: ReadonlyMap<string, MapRecord>;
  /** Map items' values by `<map>[<index>]`. */
  items: ReadonlyMap<string, unknown>;
  /**
   * Nodes started by eager dispatch, with the queue job they ran under (their lease): kept after
   * they end, read only when that job is redelivered. Absent when there is none.
   */
  leases?: ReadonlyMap<string, string>;
}
