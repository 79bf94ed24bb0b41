/**
 * Flow versions are immutable, so each worker compiles a pinned version once: node lookup,
 * the hot-state graph, and which upstream results each node's templates read.
 */
import type { FlowRecord, FlowsRepo } from '../ports/database.js';
import { WeftError } from '../errors/index.js';
import {
  compileInputSchema,
  buildFlowGraph,
  mapItemNodeId,
  hotGraphNodes,
  mapItemReads,
  mapOutputNode,
  nodeReads,
  parseMapItemNodeId,
  topologicalOrder,
  type FlowEdge,
  type FlowGraph,
  type FlowNode,
  type InputValidator,
  type MapItemNode,
  type MapNode,
} from '../flow/index.js';
import type { HotGraphNode, MapGraphNode } from '../ports/index.js';

/** A map node's sub-graph, compiled once with its flow. */
export interface CompiledMap {
  node: MapNode;
  /** Sub-graph nodes by their own ids. */
  nodes: Map<string, MapItemNode>;
  /** Sub-graph nodes' out-edges by their own ids. */
  outEdges: Map<string, FlowEdge[]>;
  /** The sub-graph as hot state keeps it, in topological order. */
  hotNodes: MapGraphNode[];
  /** The node whose output fills each item's slot. */
  output: string;
  /** What each sub-graph node reads: ids of its own item (`local`) and of the flow (`outer`). */
  reads: Map<string, { local: string[]; outer: string[] }>;
}

/** A node a job names, resolved in its pinned flow: a flow node, or a node of a map item. */
export interface ResolvedNode {
  /** The node's config; a map item's node carries its runtime id (`<map>[<index>].<node>`). */
  node: FlowNode;
  /** Hot-state ids whose results the node reads. */
  reads: string[];
  /** Hot-state ids of its children (a map item's node's are in its own item). */
  children: string[];
  /** Its out-edges, as the branching executors read them (a map item's node's: by local ids). */
  outEdges: readonly FlowEdge[];
  /** For a map item's node: its map, item index and id in the sub-graph. */
  item?: { map: CompiledMap; index: number; localId: string };
}

export interface CompiledFlow {
  record: FlowRecord;
  graph: FlowGraph;
  nodes: Map<string, FlowNode>;
  /** Each node's out-edges in document order, by node id (none: absent). */
  outEdges: Map<string, FlowEdge[]>;
  hotNodes: HotGraphNode[];
  /** Upstream node ids whose results a node needs to build its input. */
  reads: Map<string, string[]>;
  /** Map nodes' sub-graphs, by map node id. */
  maps: Map<string, CompiledMap>;
}

/** Each node's out-edges in document order: condition and switch executors choose among them. */
function outEdgesByNode(edges: readonly FlowEdge[]): Map<string, FlowEdge[]> {
  const out = new Map<string, FlowEdge[]>();
  for (const edge of edges) out.set(edge.from, [...(out.get(edge.from) ?? []), edge]);
  return out;
}

function compileMap(graph: FlowGraph, map: MapNode): CompiledMap {
  const nodes = new Map(map.graph.nodes.map((n): [string, MapItemNode] => [n.id, n]));
  const hot = new Map(hotGraphNodes(map.graph).map((n) => [n.id, n]));
  const hotNodes = topologicalOrder(map.graph).map((id): MapGraphNode => hot.get(id) ?? { id, parentCount: 0, children: [] });
  const reads = new Map(map.graph.nodes.map((n) => [n.id, mapItemReads(graph, map, n)]));
  return { node: map, nodes, outEdges: outEdgesByNode(map.graph.edges), hotNodes, output: mapOutputNode(map), reads };
}

/** The node a job names: a node of the flow, or (`<map>[<index>].<node>`) of a map's item. */
export function resolveNode(flow: CompiledFlow, id: string): ResolvedNode | undefined {
  const top = flow.nodes.get(id);
  if (top) return { node: top, reads: flow.reads.get(id) ?? [], children: flow.graph.children.get(id) ?? [], outEdges: flow.outEdges.get(id) ?? [] };
  const parsed = parseMapItemNodeId(id);
  const map = parsed ? flow.maps.get(parsed.mapId) : undefined;
  const template = parsed ? map?.nodes.get(parsed.nodeId) : undefined;
  if (!parsed || !map || !template) return undefined;
  const reads = map.reads.get(parsed.nodeId) ?? { local: [], outer: [] };
  return {
    node: { ...template, id },
    reads: [...reads.local.map((local) => mapItemNodeId(parsed.mapId, parsed.index, local)), ...reads.outer],
    children: (map.hotNodes.find((n) => n.id === parsed.nodeId)?.children ?? []).map((child) => mapItemNodeId(parsed.mapId, parsed.index, child)),
    outEdges: map.outEdges.get(parsed.nodeId) ?? [],
    item: { map, index: parsed.index, localId: parsed.nodeId },
  };
}

export function compileFlow(record: FlowRecord): CompiledFlow {
  const graph = buildFlowGraph(record);
  const nodes = new Map(record.nodes.map((n): [string, FlowNode] => [n.id, n]));
  const reads = new Map<string, string[]>();
  for (const node of record.nodes) reads.set(node.id, nodeReads(graph, node));
  const maps = new Map<string, CompiledMap>();
  for (const node of record.nodes) if (node.type === 'map') maps.set(node.id, compileMap(graph, node));
  return { record, graph, nodes, outEdges: outEdgesByNode(record.edges), hotNodes: hotGraphNodes(record), reads, maps };
}

/** A Map used as an LRU: a read moves the key to the end, an insert past `max` drops the first. */
function touch<V>(entries: Map<string, V>, key: string): V | undefined {
  const hit = entries.get(key);
  if (hit !== undefined) {
    entries.delete(key);
    entries.set(key, hit);
  }
  return hit;
}

function insert<V>(entries: Map<string, V>, key: string, value: V, max: number): void {
  entries.delete(key);
  entries.set(key, value);
  if (entries.size > max) {
    const oldest = entries.keys().next().value;
    if (oldest !== undefined) entries.delete(oldest);
  }
}

export class FlowCache {
  private readonly entries = new Map<string, CompiledFlow>();
  /**
   * The start path's view of each flow's latest version, by workspace and flow. It may be stale
   * (another api instance wrote a version, or deleted the flow): the insert it feeds checks it in
   * the same statement (`createIfFlowCurrent`), and a failed check drops the entry.
   */
  private readonly latestVersions = new Map<string, number>();
  /** Each flow version's compiled inputSchema, by `<flowId>@<version>` (versions are immutable). */
  private readonly inputValidators = new Map<string, InputValidator>();

  constructor(
    private readonly flows: FlowsRepo,
    private readonly maxEntries = 500,
    private readonly maxLatestEntries = 10_000,
  ) {}

  latest(workspaceId: string, flowId: string): number | undefined {
    return touch(this.latestVersions, `${workspaceId}/${flowId}`);
  }

  rememberLatest(workspaceId: string, flowId: string, version: number): void {
    insert(this.latestVersions, `${workspaceId}/${flowId}`, version, this.maxLatestEntries);
  }

  forgetLatest(workspaceId: string, flowId: string): void {
    this.latestVersions.delete(`${workspaceId}/${flowId}`);
  }

  /** The validator of a flow version's inputSchema, compiled once per version; null when it declares none. */
  inputValidator(flow: Pick<FlowRecord, 'id' | 'version' | 'inputSchema'>): InputValidator | null {
    if (!flow.inputSchema) return null;
    const key = `${flow.id}@${flow.version}`;
    const hit = touch(this.inputValidators, key);
    if (hit) return hit;
    const validator = compileInputSchema(flow.inputSchema);
    insert(this.inputValidators, key, validator, this.maxEntries);
    return validator;
  }

  /** A flow version, compiled, from this cache or Postgres; null when it is missing. */
  async find(flowId: string, version: number): Promise<CompiledFlow | null> {
    try {
      return await this.get(flowId, version);
    } catch (err) {
      if (err instanceof WeftError && err.code === 'FLOW_VERSION_NOT_FOUND') return null;
      throw err;
    }
  }

  async get(flowId: string, version: number): Promise<CompiledFlow> {
    const key = `${flowId}@${version}`;
    const hit = touch(this.entries, key);
    if (hit) return hit;
    const record = await this.flows.getVersion(flowId, version);
    if (!record) throw new WeftError('FLOW_VERSION_NOT_FOUND', `flow ${flowId} version ${version} not found`);
    const compiled = compileFlow(record);
    insert(this.entries, key, compiled, this.maxEntries);
    return compiled;
  }
}
