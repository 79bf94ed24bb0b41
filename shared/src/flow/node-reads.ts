import { ancestorsOf, type FlowGraph } from './flow-graph.js';
import { nodeReferences } from './node-references.js';
import type { FlowNode } from './types.js';

/** Types whose JSONata expression sees every upstream output (`nodes.<id>`), skipped ones as null. */
const READS_ALL_ANCESTORS: ReadonlySet<FlowNode['type']> = new Set(['transform', 'condition', 'switch']);

/**
 * Upstream node ids whose results a node needs to build its input: every ancestor for the
 * JSONata types, otherwise the nodes its templates name. One rule for the worker (what
 * startNode reads) and the api (what a single-node run must find completed).
 */
export function nodeReads(graph: FlowGraph, node: FlowNode): string[] {
  return READS_ALL_ANCESTORS.has(node.type) ? [...ancestorsOf(graph, node.id)] : nodeReferences(node);
}
