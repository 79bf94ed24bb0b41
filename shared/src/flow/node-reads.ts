import { ancestorsOf, buildFlowGraph, type FlowGraph } from './flow-graph.js';
import { mapItemsSource } from './map-node.js';
import { nodeReferences } from './node-references.js';
import type { FlowNode, MapItemNode, MapNode } from './types.js';

/** Types whose expression or source sees every upstream output (`nodes.<id>`), skipped ones as null. */
const READS_ALL_ANCESTORS: ReadonlySet<FlowNode['type']> = new Set(['transform', 'condition', 'switch', 'code']);

function readsAllAncestors(node: FlowNode): boolean {
  return READS_ALL_ANCESTORS.has(node.type) || (node.type === 'map' && mapItemsSource(node).kind === 'jsonata');
}

/**
 * Upstream node ids whose results a node needs to build its input: every ancestor for the
 * JSONata types (and a map whose `items` is JSONata), otherwise the nodes its templates name.
 * A map also needs what its items' nodes read from outside it. One rule for the worker (what
 * startNode reads) and the api (what a single-node run must find completed).
 */
export function nodeReads(graph: FlowGraph, node: FlowNode): string[] {
  const own = readsAllAncestors(node) ? [...ancestorsOf(graph, node.id)] : nodeReferences(node);
  if (node.type !== 'map') return own;
  const reads = new Set(own);
  for (const sub of node.graph.nodes) for (const id of mapItemReads(graph, node, sub).outer) reads.add(id);
  return [...reads];
}

/**
 * What a node of a map's sub-graph reads, by the same rule as nodeReads: `local`, ids of the
 * sub-graph (read from the same item), and `outer`, ids of the flow's nodes (ancestors of the
 * map). JSONata types read every sub-graph ancestor and every ancestor of the map; others the
 * nodes their templates name. Never `item`, `index`, `input` or `vault`. `flowGraph` is the
 * flow's (top-level) graph.
 */
export function mapItemReads(flowGraph: FlowGraph, map: MapNode, sub: MapItemNode): { local: string[]; outer: string[] } {
  if (readsAllAncestors(sub)) {
    return { local: [...ancestorsOf(buildFlowGraph(map.graph), sub.id)], outer: [...ancestorsOf(flowGraph, map.id)] };
  }
  const localIds = new Set(map.graph.nodes.map((node) => node.id));
  const refs = nodeReferences(sub);
  return { local: refs.filter((id) => localIds.has(id)), outer: refs.filter((id) => !localIds.has(id)) };
}
