/**
 * Flow versions are immutable, so each worker compiles a pinned version once: node lookup,
 * the hot-state graph, and which upstream results each node's templates read.
 */
import type { FlowRecord, FlowsRepo } from '@weft/db/repos';
import { WeftError } from '@weft/shared/errors';
import { buildFlowGraph, hotGraphNodes, nodeReads, nodeTypeSpec, type FlowGraph, type FlowNode } from '@weft/shared/flow';
import type { HotGraphNode } from '@weft/shared/ports';
import { withOutEdges } from './nodes/out-edges.js';

export interface CompiledFlow {
  record: FlowRecord;
  graph: FlowGraph;
  /** Branching nodes (condition, switch) carry their out-edges (nodes/out-edges.ts). */
  nodes: Map<string, FlowNode>;
  hotNodes: HotGraphNode[];
  /** Upstream node ids whose results a node needs to build its input. */
  reads: Map<string, string[]>;
}

export function compileFlow(record: FlowRecord): CompiledFlow {
  const graph = buildFlowGraph(record);
  const nodes = new Map(record.nodes.map((n): [string, FlowNode] => [
    n.id,
    nodeTypeSpec(n.type)?.branching === true ? withOutEdges(n, record.edges.filter((e) => e.from === n.id)) : n,
  ]));
  const reads = new Map<string, string[]>();
  for (const node of record.nodes) reads.set(node.id, nodeReads(graph, node));
  return { record, graph, nodes, hotNodes: hotGraphNodes(record), reads };
}

export class FlowCache {
  private readonly entries = new Map<string, CompiledFlow>();

  constructor(
    private readonly flows: FlowsRepo,
    private readonly maxEntries = 500,
  ) {}

  async get(flowId: string, version: number): Promise<CompiledFlow> {
    const key = `${flowId}@${version}`;
    const hit = this.entries.get(key);
    if (hit) {
      // Refresh recency: Map iteration order is insertion order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const record = await this.flows.getVersion(flowId, version);
    if (!record) throw new WeftError('FLOW_VERSION_NOT_FOUND', `flow ${flowId} version ${version} not found`);
    const compiled = compileFlow(record);
    this.entries.set(key, compiled);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return compiled;
  }
}
