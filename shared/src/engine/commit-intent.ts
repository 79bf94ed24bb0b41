/**
 * What a node's result does to the graph — pure, and the one place it is decided. The node
 * processor, maps, waits and the recovery rebuild call it; the state store (Lua or memory)
 * applies the answer as data and never decides it again.
 */
import { catalogCode } from '../model/error-codes.js';
import type { NodeError } from '../model/node-result.js';
import type { TerminalNodeStatus } from '../model/statuses.js';
import { nodeTypeSpec } from '../flow/node-type-specs.js';
import type { FlowNode } from '../flow/types.js';

export interface CommitIntentInput {
  node: Pick<FlowNode, 'type' | 'onError'>;
  /** `cancelled`: the run was aborted by a cancel (of its execution, or of its cut map). */
  outcome: 'completed' | 'failed' | 'cancelled';
  /** Why the node failed (stored or catalog code); null when it completed. */
  failure: Pick<NodeError, 'code'> | { code: string } | null;
  /** The node's children (hot-state ids: a map item's node's are in its own item). */
  children: readonly string[];
  /** A completed branching node (condition, switch): the children its chosen edges lead to. */
  chosen?: readonly string[] | undefined;
  /** The node belongs to a map item: a hard failure fails its item (its map decides), not the execution. */
  mapItem: boolean;
}

export interface CommitIntent {
  /** Children whose incoming edge from this node is taken. */
  takenChildren: string[];
  /** The commit ends the execution failed. */
  failExecution: boolean;
  /** A failure the flow continues past (onError "continue"); false for completed nodes. */
  soft: boolean;
}

/** The outcome of a committed run's status (a skipped result is never a run's). */
export function outcomeOf(status: TerminalNodeStatus): CommitIntentInput['outcome'] {
  return status === 'skipped' ? 'failed' : status;
}

/** A node whose failure the flow continues past: onError "continue". */
export function failsSoftly(node: Pick<FlowNode, 'onError'>): boolean {
  return node.onError === 'continue';
}

/** A node whose out-edges carry conditions (condition, switch). */
export function isBranching(node: Pick<FlowNode, 'type'>): boolean {
  return nodeTypeSpec(node.type)?.branching === true;
}

/**
 * Completed: a plain node takes all its edges, a branching one those it chose. Failed: a soft
 * failure takes all its edges (a branching node none: neither side runs on a guess) and the
 * flow goes on; a hard failure takes none and fails the execution, or only its item inside a
 * map. A passed budget (budget_exceeded) and a cancelled run are never soft; a passed budget
 * fails the execution even from inside a map item.
 */
export function commitIntent(input: CommitIntentInput): CommitIntent {
  const { node } = input;
  if (input.outcome === 'completed') {
    return { takenChildren: [...(input.chosen ?? input.children)], failExecution: false, soft: false };
  }
  const budget = input.failure !== null && catalogCode(input.failure.code) === 'BUDGET_EXCEEDED';
  // A cancelled run is never soft: nothing downstream runs on an aborted node.
  const soft = failsSoftly(node) && !budget && input.outcome !== 'cancelled';
  if (soft) return { takenChildren: isBranching(node) ? [] : [...input.children], failExecution: false, soft };
  return { takenChildren: [], failExecution: !input.mapItem || budget, soft };
}
