import { buildFlowGraph, type FlowTopology } from '../flow/flow-graph.js';
import type { NodeStatus } from './types.js';

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
