import type { ErrorDetail } from '../errors/weft-error.js';
import { buildFlowGraph, type FlowGraph } from './flow-graph.js';
import { isRecord } from './is-record.js';
import { jsonPointer } from './json-pointer.js';
import { MAP_GRAPH_MAX_NODES } from './map-node.js';
import type { NodeInfo } from './node-info.js';
import type { FlowLimits } from './node-type-spec.js';
import { findCycle, formatCycle } from './topological-order.js';
import { validateEdges } from './validate-edges.js';
import { validateNodes, type IdOwner } from './validate-nodes.js';

export interface MapGraphReport {
  details: ErrorDetail[];
  /** The sub-graph's nodes (none when `graph` has no `nodes` array). */
  nodes: NodeInfo[];
  /** The sub-graph, or null when it cannot be trusted (cycle, dangling or malformed edge). */
  graph: FlowGraph | null;
}

export interface ValidateMapGraphInput {
  /** A map node (its raw node is an object). */
  map: NodeInfo;
  /** How to name the map in messages (`map 'm'`). */
  mapLabel: string;
  /** Ids taken so far anywhere in the flow; the sub-graph's ids are added. */
  ids: Map<string, IdOwner>;
  /** The deployment's bounds on node configs. */
  limits?: Readonly<FlowLimits>;
}

const GRAPH_KEYS: ReadonlySet<string> = new Set(['nodes', 'edges']);

/** `graph` must be `{nodes: [1..MAP_GRAPH_MAX_NODES], edges?: []}`; returns its nodes when they are an array. */
function checkShape(map: NodeInfo, graph: unknown): { details: ErrorDetail[]; nodes: readonly unknown[] | null } {
  const path = `${map.path}/graph`;
  const problem = (at: string, message: string): ErrorDetail => ({ path: at, message: `${map.label}: ${message}`, code: 'FLOW_INVALID_NODE_CONFIG' });
  if (graph === undefined) return { details: [problem(path, 'graph is required')], nodes: null };
  if (!isRecord(graph)) return { details: [problem(path, 'graph must be an object {nodes, edges}')], nodes: null };
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(graph)) {
    if (!GRAPH_KEYS.has(key)) details.push(problem(path + jsonPointer(key), `graph: unknown property '${key}'`));
  }
  const { nodes, edges } = graph;
  if (edges !== undefined && !Array.isArray(edges)) details.push(problem(`${path}/edges`, 'graph/edges must be an array'));
  if (nodes === undefined) details.push(problem(`${path}/nodes`, 'graph/nodes is required'));
  else if (!Array.isArray(nodes)) details.push(problem(`${path}/nodes`, 'graph/nodes must be an array'));
  else if (nodes.length === 0) details.push(problem(`${path}/nodes`, "a map's graph needs at least one node"));
  else if (nodes.length > MAP_GRAPH_MAX_NODES) details.push(problem(`${path}/nodes`, `a map's graph has at most ${MAP_GRAPH_MAX_NODES} nodes, not ${nodes.length}`));
  return { details, nodes: Array.isArray(nodes) ? nodes : null };
}

function checkOutput(input: { map: NodeInfo; nodesById: ReadonlyMap<string, NodeInfo>; graph: FlowGraph | null }): ErrorDetail[] {
  const { map, nodesById, graph } = input;
  const path = `${map.path}/output`;
  const output = map.raw?.output;
  if (output !== undefined) {
    // A non-string output is the schema's to report.
    if (typeof output !== 'string' || nodesById.has(output)) return [];
    return [{ path, message: `${map.label}: output '${output}' is not a node of its graph`, code: 'FLOW_INVALID_OUTPUT' }];
  }
  if (graph === null || nodesById.size === 0 || graph.leaves.length === 1) return [];
  const message = `${map.label}: its graph has ${graph.leaves.length} leaves (${graph.leaves.join(', ')}); set output to the node whose output fills each slot`;
  return [{ path, message, code: 'FLOW_INVALID_OUTPUT' }];
}

/**
 * Checks a map node's sub-graph with the flow's own rules (nodes, edges, one cycle), paths below
 * the node (`/nodes/3/graph/nodes/0/prompt`), plus: only MapItemNode types, ids unique across
 * the whole flow, and `output` naming a sub-graph node (or, absent, exactly one leaf). The
 * templates are checked later, once the flow's graph is known (validateTemplates).
 */
export function validateMapGraph({ map, mapLabel, ids, limits }: ValidateMapGraphInput): MapGraphReport {
  const graphValue = map.raw?.graph;
  const shape = checkShape(map, graphValue);
  const details = [...shape.details];
  if (shape.nodes === null) return { details, nodes: [], graph: null };

  const basePath = `${map.path}/graph`;
  const nodesReport = validateNodes(shape.nodes, { basePath, ids, mapLabel, ...(limits ? { limits } : {}) });
  details.push(...nodesReport.details);
  const nodesById = new Map<string, NodeInfo>();
  for (const info of nodesReport.nodes) {
    if (info.id !== undefined && !nodesById.has(info.id)) nodesById.set(info.id, info);
  }

  const rawEdges = isRecord(graphValue) ? graphValue.edges : undefined;
  const edges: readonly unknown[] = Array.isArray(rawEdges) ? rawEdges : [];
  const edgesReport = validateEdges({ edges, nodesById, basePath, mapLabel });
  details.push(...edgesReport.details);

  const built = buildFlowGraph({ nodes: [...nodesById.keys()].map((id) => ({ id })), edges: edgesReport.graphEdges });
  const cycle = findCycle(built);
  if (cycle !== null) details.push({ path: basePath, message: `${map.label}: cycle in its graph: ${formatCycle(cycle)}`, code: 'FLOW_CYCLE' });
  const graph = cycle === null && !edgesReport.incomplete ? built : null;
  details.push(...checkOutput({ map, nodesById, graph }));
  return { details, nodes: nodesReport.nodes, graph };
}
