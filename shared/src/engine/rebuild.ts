/**
 * Hot state rebuilt from what Postgres kept (node_runs), for an execution whose hot state Redis
 * lost (architecture: execution lifecycle, step 6). The graph as init writes it, then each
 * recorded result committed in topological order, as the workers committed it the first time;
 * what has no result then is pending or ready again. Pure: the caller stores the state.
 */
import type { InitExecutionInput } from '../model/index.js';
import { applyCommit, applyInit } from './apply-commit.js';
import type { CommitIntent } from './commit-intent.js';
import type { ExecutionState } from './hot-state.js';
import type { NodeResult } from '../model/index.js';

export interface RebuildInput {
  init: InitExecutionInput;
  /** The graph's node ids in topological order. */
  order: readonly string[];
  /** Recorded results by node id (nodes of the graph only; others are ignored). */
  results: ReadonlyMap<string, NodeResult>;
  /** How the node's commit went: the edges it took and whether it ended the execution. */
  commitOf(nodeId: string, result: NodeResult): CommitIntent;
}

export function rebuildExecution(input: RebuildInput): ExecutionState {
  let state = applyInit(undefined, input.init).state;
  for (const nodeId of input.order) {
    const result = input.results.get(nodeId);
    // A skipped node is decided again by its parents' commits.
    if (!result || result.status === 'skipped' || state.results.has(nodeId)) continue;
    state = applyCommit(state, { executionId: input.init.executionId, nodeId, result, ...input.commitOf(nodeId, result), at: result.finishedAt }).state;
  }
  return state;
}
