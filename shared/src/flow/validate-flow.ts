import type { ErrorDetail } from '../errors/weft-error.js';
import { ancestorsOf, buildFlowGraph } from './flow-graph.js';
import { FLOW_MAX_NODES, FLOW_NAME_MAX_LENGTH } from './flow-schema.js';
import { isRecord } from './is-record.js';
import { jsonPointer } from './json-pointer.js';
import type { NodeInfo } from './node-info.js';
import type { FlowLimits } from './node-type-spec.js';
import { inputSchemaProblems } from './input-schema.js';
import { findCycle, formatCycle } from './topological-order.js';
import type { FlowDefinition } from './types.js';
import { validateEdges } from './validate-edges.js';
import { validateMapGraph, type MapGraphReport } from './validate-map-graph.js';
import { validateNodes, type IdOwner } from './validate-nodes.js';
import { validateTemplates } from './validate-templates.js';

export type ValidateFlowResult = { ok: true; flow: FlowDefinition } | { ok: false; errors: ErrorDetail[] };

const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(['name', 'nodes', 'edges', 'output', 'timeoutMs', 'inputSchema']);
const MAX_EXECUTION_TIMEOUT_MS = 30 * 86_400_000;

function shapeError(path: string, message: string): ErrorDetail {
  return { path, message, code: 'FLOW_INVALID_SHAPE' };
}

function checkTopLevel(flow: Record<string, unknown>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(flow)) {
    if (!TOP_LEVEL_KEYS.has(key)) details.push(shapeError(jsonPointer(key), `unknown property '${key}'`));
  }
  const { name, nodes, edges } = flow;
  if (name === undefined) details.push(shapeError('/name', 'name is required'));
  else if (typeof name !== 'string') details.push(shapeError('/name', 'name must be a string'));
  else if (name.trim() === '') details.push(shapeError('/name', 'name must not be empty'));
  else if (name.length > FLOW_NAME_MAX_LENGTH) details.push(shapeError('/name', `name must be at most ${FLOW_NAME_MAX_LENGTH} characters`));

  if (nodes === undefined) details.push(shapeError('/nodes', 'nodes is required'));
  else if (!Array.isArray(nodes)) details.push(shapeError('/nodes', 'nodes must be an array'));
  else if (nodes.length === 0) details.push(shapeError('/nodes', 'a flow needs at least one node'));
  else if (nodes.length > FLOW_MAX_NODES) details.push(shapeError('/nodes', `a flow has at most ${FLOW_MAX_NODES} nodes, not ${nodes.length}`));

  if (edges !== undefined && !Array.isArray(edges)) details.push(shapeError('/edges', 'edges must be an array'));
  const { timeoutMs } = flow;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_EXECUTION_TIMEOUT_MS)) {
    details.push(shapeError('/timeoutMs', `timeoutMs must be an integer from 1 to ${MAX_EXECUTION_TIMEOUT_MS} (30 days)`));
  }
  if (Object.hasOwn(flow, 'inputSchema')) details.push(...inputSchemaProblems(flow.inputSchema));
  return details;
}

function checkOutput(input: { flow: Record<string, unknown>; nodesById: ReadonlyMap<string, NodeInfo>; mapOf: ReadonlyMap<string, string> }): ErrorDetail[] {
  const { flow, nodesById, mapOf } = input;
  if (!Object.hasOwn(flow, 'output')) return [];
  const { output } = flow;
  if (typeof output !== 'string') return [{ path: '/output', message: 'output must be a node id', code: 'FLOW_INVALID_OUTPUT' }];
  if (nodesById.has(output)) return [];
  const owner = mapOf.get(output);
  const message = owner === undefined ? `output '${output}' is not a node` : `output '${output}' is inside ${owner}; name the map instead`;
  return [{ path: '/output', message, code: 'FLOW_INVALID_OUTPUT' }];
}

interface MapScope {
  info: NodeInfo;
  label: string;
  report: MapGraphReport;
}

/** Checks every map's sub-graph, in document order, after the top-level ids are taken. */
function validateMaps(nodes: readonly NodeInfo[], ids: Map<string, IdOwner>, limits: Readonly<FlowLimits> | undefined): MapScope[] {
  return nodes
    .filter((info) => info.raw !== undefined && info.spec !== undefined && info.raw.type === 'map')
    .map((info) => {
      const label = info.id === undefined ? `map #${info.index}` : `map '${info.id}'`;
      return { info, label, report: validateMapGraph({ map: info, mapLabel: label, ids, ...(limits ? { limits } : {}) }) };
    });
}

/** A map's sub-graph may omit `edges` when posted; the stored flow always has them. */
function withSubGraphEdges(nodes: readonly unknown[]): unknown[] {
  return nodes.map((node) => {
    if (!isRecord(node) || node.type !== 'map' || !isRecord(node.graph) || node.graph.edges !== undefined) return node;
    return { ...node, graph: { ...node.graph, edges: [] } };
  });
}

/**
 * Validates a flow document as posted by a user and reports every problem found, each with a
 * JSON pointer and a code (architecture.md, "Flow definition"). A missing `edges` means none,
 * in the flow as in a map's sub-graph. Upstream checks of `{{refs}}` are skipped while the
 * graph has a cycle or a dangling or malformed edge (they would be reported against a wrong
 * graph). Each map's sub-graph is checked like the flow (validateMapGraph); node ids are unique
 * across the whole flow. `options.limits`: the deployment's bounds on node configs (a code
 * node's memoryMb and timeoutMs); default DEFAULT_FLOW_LIMITS.
 */
export function validateFlow(input: unknown, options: { limits?: Readonly<FlowLimits> } = {}): ValidateFlowResult {
  const { limits } = options;
  if (!isRecord(input)) return { ok: false, errors: [shapeError('', 'a flow must be a JSON object')] };

  const errors = checkTopLevel(input);
  if (!Array.isArray(input.nodes)) return { ok: false, errors };
  const ids = new Map<string, IdOwner>();
  const nodesReport = validateNodes(input.nodes, { ids, ...(limits ? { limits } : {}) });
  errors.push(...nodesReport.details);

  const nodesById = new Map<string, NodeInfo>();
  for (const info of nodesReport.nodes) {
    if (info.id !== undefined && !nodesById.has(info.id)) nodesById.set(info.id, info);
  }
  const maps = validateMaps(nodesReport.nodes, ids, limits);
  // Sub-graph node ids to their map's label; an id also used at the top level stays the top level's.
  const mapOf = new Map<string, string>();
  for (const map of maps) {
    errors.push(...map.report.details);
    for (const info of map.report.nodes) {
      if (info.id !== undefined && !nodesById.has(info.id) && !mapOf.has(info.id)) mapOf.set(info.id, map.label);
    }
  }

  const edges: readonly unknown[] = Array.isArray(input.edges) ? input.edges : [];
  const edgesReport = validateEdges({ edges, nodesById, mapOf });
  errors.push(...edgesReport.details);

  const graph = buildFlowGraph({ nodes: [...nodesById.keys()].map((id) => ({ id })), edges: edgesReport.graphEdges });
  const cycle = findCycle(graph);
  if (cycle !== null) errors.push({ path: '/edges', message: `cycle: ${formatCycle(cycle)}`, code: 'FLOW_CYCLE' });

  const graphUsable = cycle === null && !edgesReport.incomplete;
  errors.push(...validateTemplates({ nodes: nodesReport.nodes, graph: graphUsable ? graph : null, mapOf }));
  for (const map of maps) {
    const outerUpstream = graphUsable && map.info.id !== undefined ? ancestorsOf(graph, map.info.id) : null;
    errors.push(...validateTemplates({ nodes: map.report.nodes, graph: map.report.graph, map: { label: map.label, outerUpstream }, mapOf }));
  }
  errors.push(...checkOutput({ flow: input, nodesById, mapOf }));

  if (errors.length > 0) return { ok: false, errors };
  const flow = { ...input, nodes: maps.length > 0 ? withSubGraphEdges(input.nodes) : input.nodes, edges } as unknown as FlowDefinition;
  return { ok: true, flow };
}
