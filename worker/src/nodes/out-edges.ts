/**
 * Condition and switch executors choose which out-edges are taken, so they need their node's
 * out-edges. The flow cache compiles each pinned flow once and attaches them to the branching
 * nodes it hands out (node schemas reject unknown keys, so the key never clashes with config).
 */
import { WeftError } from '@weft/shared/errors';
import type { FlowEdge, FlowNode } from '@weft/shared/flow';

export interface WithOutEdges {
  /** The node's out-edges in document order, with their `when` / `default` labels. */
  readonly outEdges: readonly FlowEdge[];
}

/** A copy of `node` that carries its out-edges; the flow's own node object is left alone. */
export function withOutEdges<N extends FlowNode>(node: N, edges: readonly FlowEdge[]): N & WithOutEdges {
  return { ...node, outEdges: edges };
}

/** The out-edges compileFlow attached; a node that did not come through it is a bug. */
export function outEdgesOf(node: FlowNode): readonly FlowEdge[] {
  const { outEdges } = node as Partial<WithOutEdges>;
  if (outEdges === undefined) {
    throw new WeftError('INTERNAL_ERROR', `node '${node.id}' (${node.type}) was not compiled with its out-edges`, { category: 'permanent' });
  }
  return outEdges;
}
