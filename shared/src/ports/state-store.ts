import type { BlobAddress } from '../engine/output-ref.js';
import type { ExecutionState } from '../model/hot-state.js';
import type { HotExecution, NodeError } from '../model/node-result.js';
import type {
  CancelExecutionResult,
  CommitNodeInput,
  CommitNodeResult,
  InitExecutionInput,
  InitExecutionResult,
  ReopenNodesResult,
  StartMapInput,
  StartMapResult,
  StartNodeInput,
  StartNodeResult,
  TimeoutMapResult,
  WaitNodeResult,
} from '../model/transitions.js';

// The shapes moved to the model (a leaf): re-exported for the adapters and callers of this port.
export type * from '../model/transitions.js';
export type { HotGraphNode, MapGraphNode } from '../model/hot-state.js';

export interface StateStore {
  initExecution(input: InitExecutionInput): Promise<InitExecutionResult>;
  startNode(input: StartNodeInput): Promise<StartNodeResult>;
  commitNode(input: CommitNodeInput): Promise<CommitNodeResult>;
  /**
   * A fused run (node-job.ts): commits the nodes of one execution in order, in one atomic step,
   * as commitNode would one after another. Each step but the last names only the next step's
   * node as its eager candidate; the run stops after a step that did not start it (the execution
   * ended, or the node was committed already), and the later steps are not committed. Answers
   * one result per step committed (at least the first); a continuing step's `eager` carries
   * the next node's id only (its input and results are not read back).
   */
  commitNodes(inputs: readonly CommitNodeInput[]): Promise<CommitNodeResult[]>;
  /**
   * What should be enqueued after a node that is already terminal (a redelivered job whose node
   * committed before its worker died): its ready children, and for a map item's node its map's
   * queued item nodes (of `round`). With `leaseJobId` (the redelivered job's id), also what ran
   * under that job by eager dispatch: its nodes still open, and what those that ended made ready.
   * Reads only; null when the execution has no hot state.
   */
  readyAfter(input: { executionId: string; nodeId: string; leaseJobId?: string }): Promise<{ ready: string[]; round: number } | null>;
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
  /**
   * Takes the one use of a wait's resume link (per execution, node and waiting spell): true for
   * the first caller only, across every process sharing this store, until `expiresAtMs`.
   */
  claimResumeLink(input: ResumeLinkClaim): Promise<boolean>;
  /** Gives a claimed use back (the resume could not be enqueued). */
  releaseResumeLink(input: Omit<ResumeLinkClaim, 'expiresAtMs'>): Promise<void>;
  getExecution(executionId: string): Promise<HotExecution | null>;
  /**
   * Stores an offloaded output's JSON text (claim check) with the execution's hot state: it lives
   * and expires with it. Written before the commit that references it.
   */
  putBlob(input: BlobAddress & { text: string }): Promise<void>;
  /** The JSON texts of these blobs, in order; null for one hot state no longer holds. */
  getBlobs(addresses: readonly BlobAddress[]): Promise<Array<string | null>>;
  /** Which of these executions have hot state (one cheap check each). */
  existingExecutions(executionIds: readonly string[]): Promise<Set<string>>;
  /**
   * Writes a rebuilt execution's hot state (engine/rebuild.ts) unless it has some: answers
   * whether it wrote. Appends no event. Used by the recovery sweep when Redis lost the state.
   */
  restoreExecution(state: ExecutionState): Promise<boolean>;
  /**
   * Gives an ended execution's hot keys a TTL; called only after Postgres confirmed the final
   * write. An execution running again (re-opened meanwhile) is left alone: answers false.
   */
  expireExecution(executionId: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Deletes these executions' hot state and event history at once, whatever their status
   * (workspace deletion: cancel them first). Missing ones are ignored.
   */
  deleteExecutions(executionIds: readonly string[]): Promise<void>;
  /**
   * Deletes every other key whose name carries the workspace id (e.g. the provider rate-limit
   * windows of the workspace); answers how many. Scans the key space: workspace deletion only.
   */
  deleteWorkspaceKeys(workspaceId: string): Promise<number>;
  close(): Promise<void>;
}

export interface ResumeLinkClaim {
  executionId: string;
  nodeId: string;
  /** ISO time the wait began: a later spell of the same node has links of its own. */
  waitingSince: string;
  expiresAtMs: number;
}
