import type { HotGraphNode } from '../model/index.js';
import type { FlowTopology } from './flow-graph.js';

/** The graph as hot state stores it: per node, its incoming edge count and its children. */
export function hotGraphNodes(flow: FlowTopology): HotGraphNode[] {
  const byId = new Map<string, HotGraphNode>(flow.nodes.map((node) => [node.id, { id: node.id, parentCount: 0, children: [] }]));
  for (const edge of flow.edges) {
    const from = byId.get(edge.from);
    const to = byId.get(edge.to);
    if (from === undefined || to === undefined) continue;
    to.parentCount += 1;
    if (!from.children.includes(edge.to)) from.children.push(edge.to);
  }
  return [...byId.values()];
}
