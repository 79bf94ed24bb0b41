import type { FlowEdge } from './types.js';

export interface FlowGraph {
  /** Every node id, in declaration order, to its distinct parents (in edge order). */
  parents: Map<string, string[]>;
  /** Every node id, in declaration order, to its distinct children (in edge order). */
  children: Map<string, string[]>;
  /** Nodes without parents, in declaration order. */
  roots: string[];
  /** Nodes without children, in declaration order. */
  leaves: string[];
}

/** What the graph functions read of a flow; a FlowDefinition fits. */
export interface FlowTopology {
  nodes: readonly { id: string }[];
  edges: readonly Pick<FlowEdge, 'from' | 'to'>[];
}

/**
 * The adjacency of a flow. Edges whose endpoints are not nodes are ignored (validateFlow
 * reports them); duplicate edges count once.
 */
export function buildFlowGraph(flow: FlowTopology): FlowGraph {
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const node of flow.nodes) {
    parents.set(node.id, []);
    children.set(node.id, []);
  }
  for (const edge of flow.edges) {
    const out = children.get(edge.from);
    const into = parents.get(edge.to);
    if (out === undefined || into === undefined) continue;
    if (!out.includes(edge.to)) out.push(edge.to);
    if (!into.includes(edge.from)) into.push(edge.from);
  }
  const ids = [...parents.keys()];
  return {
    parents,
    children,
    roots: ids.filter((id) => parents.get(id)?.length === 0),
    leaves: ids.filter((id) => children.get(id)?.length === 0),
  };
}

/** Every node from which `nodeId` can be reached (not the node itself, unless on a cycle). */
export function ancestorsOf(graph: FlowGraph, nodeId: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.parents.get(nodeId) ?? [])];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(graph.parents.get(id) ?? []));
  }
  return seen;
}
