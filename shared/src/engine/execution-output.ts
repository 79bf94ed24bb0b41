import { buildFlowGraph, type FlowTopology } from '../flow/flow-graph.js';
import type { FlowNode } from '../flow/types.js';
import type { NodeError, NodeStatus } from '../model/index.js';

export interface ExecutionOutputNodeResult {
  status: NodeStatus;
  output: unknown;
}

/**
 * An execution's output (api.md): the output of `flow.output` when the flow names one (null if
 * that node has no result or was skipped), otherwise an object keyed by leaf node id with each
 * leaf's output; skipped leaves and leaves without a result are left out.
 */
export function executionOutput(
  flow: FlowTopology & { output?: string },
  results: Readonly<Record<string, ExecutionOutputNodeResult>>,
): unknown {
  const resultOf = (id: string): ExecutionOutputNodeResult | undefined =>
    Object.hasOwn(results, id) && results[id]?.status !== 'skipped' ? results[id] : undefined;
  if (flow.output !== undefined) return resultOf(flow.output)?.output ?? null;
  const output: Record<string, unknown> = {};
  for (const leaf of buildFlowGraph(flow).leaves) {
    const result = resultOf(leaf);
    if (result !== undefined) output[leaf] = result.output;
  }
  return output;
}

/**
 * The part of a flow an execution ran: the nodes in `nodeIds` and the edges between them, and
 * `output` only when it is one of them. The whole flow for a plain execution; for a single-node
 * run that node alone, so its output is `{ <nodeId>: output }`.
 */
export function executedTopology(
  flow: FlowTopology & { output?: string },
  nodeIds: ReadonlySet<string>,
): FlowTopology & { output?: string } {
  if (flow.nodes.every((n) => nodeIds.has(n.id))) return flow;
  return {
    nodes: flow.nodes.filter((n) => nodeIds.has(n.id)),
    edges: flow.edges.filter((e) => nodeIds.has(e.from) && nodeIds.has(e.to)),
    ...(flow.output !== undefined && nodeIds.has(flow.output) ? { output: flow.output } : {}),
  };
}

/**
 * Why a failed execution failed, when no execution-level error says it: the first failed node of
 * the flow (not a map item's node: its map's failure names it) that did not continue on error.
 */
export function executionFailure(
  flow: { nodes: readonly Pick<FlowNode, 'id' | 'onError'>[] },
  results: Readonly<Record<string, { status: NodeStatus; error: NodeError | null }>>,
): (NodeError & { nodeId: string }) | null {
  const onError = new Map(flow.nodes.map((n) => [n.id, n.onError]));
  for (const [nodeId, result] of Object.entries(results)) {
    if (result.status !== 'failed' || !result.error || !onError.has(nodeId) || onError.get(nodeId) === 'continue') continue;
    return { ...result.error, nodeId };
  }
  return null;
}
