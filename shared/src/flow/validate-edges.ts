import type { ErrorDetail } from '../errors/weft-error.js';
import { FlowEdgeSchema } from './flow-edge-schema.js';
import { isRecord } from './is-record.js';
import { jsonPointer } from './json-pointer.js';
import type { NodeInfo } from './node-info.js';
import type { OutEdge } from './node-type-spec.js';
import { schemaErrors } from './schema-errors.js';

export interface EdgesReport {
  details: ErrorDetail[];
  /** Edges fit for the graph: both endpoints exist, not a self edge, not a duplicate. */
  graphEdges: { from: string; to: string }[];
  /**
   * Whether some edge is missing from graphEdges for a reason that can hide an ancestor
   * (malformed or dangling), which makes upstream checks unreliable.
   */
  incomplete: boolean;
}

export interface ValidateEdgesInput {
  edges: readonly unknown[];
  /** Nodes by id (first occurrence). */
  nodesById: ReadonlyMap<string, NodeInfo>;
  /** Pointer of the edges' owner: '' for the flow, `/nodes/3/graph` for a map's sub-graph. */
  basePath?: string;
  /** For a map's sub-graph: how to name the map (`map 'm'`), for messages. */
  mapLabel?: string;
  /** Ids of the nodes of map sub-graphs to their map's label, to explain a top-level edge that names one. */
  mapOf?: ReadonlyMap<string, string>;
}

function notANode(input: { id: string; mapLabel: string | undefined; mapOf: ReadonlyMap<string, string> | undefined }): string {
  const { id, mapLabel, mapOf } = input;
  if (mapLabel !== undefined) return `'${id}' is not a node of ${mapLabel} (edges stay within one graph)`;
  const owner = mapOf?.get(id);
  return owner === undefined ? `'${id}' is not a node` : `'${id}' is inside ${owner} (edges stay within one graph)`;
}

const BRANCH_KEYS = ['when', 'default'] as const;

/**
 * Checks every entry of `edges`: shape, endpoints, self and duplicate edges, branch labels
 * (`when` / `default` only out of branching nodes, and then as their spec's checkOutEdge says;
 * the labels of an edge that is dangling, a self edge or a duplicate are not checked further).
 */
export function validateEdges({ edges, nodesById, basePath = '', mapLabel, mapOf }: ValidateEdgesInput): EdgesReport {
  const details: ErrorDetail[] = [];
  const graphEdges: { from: string; to: string }[] = [];
  const seen = new Map<string, number>();
  /** Out-edges of branching nodes that reached the graph so far, by source id. */
  const branchEdges = new Map<string, OutEdge[]>();
  let incomplete = false;

  edges.forEach((edge, index) => {
    const path = basePath + jsonPointer('edges', index);
    if (!isRecord(edge)) {
      incomplete = true;
      details.push({ path, message: `edge #${index} must be an object`, code: 'FLOW_INVALID_SHAPE' });
      return;
    }
    details.push(...schemaErrors({ schema: FlowEdgeSchema, value: edge, basePath: path, code: 'FLOW_INVALID_SHAPE', messagePrefix: `edge #${index}: ` }));

    let endpointsOk = true;
    for (const end of ['from', 'to'] as const) {
      const id = edge[end];
      if (typeof id !== 'string') {
        endpointsOk = false;
        incomplete = true;
      } else if (!nodesById.has(id)) {
        endpointsOk = false;
        incomplete = true;
        details.push({ path: `${path}/${end}`, message: `edge #${index}: ${notANode({ id, mapLabel, mapOf })}`, code: 'FLOW_DANGLING_EDGE' });
      }
    }

    const from = typeof edge.from === 'string' ? nodesById.get(edge.from) : undefined;
    for (const key of BRANCH_KEYS) {
      if (Object.hasOwn(edge, key) && from?.spec?.branching !== true) {
        const source = from === undefined ? 'its source' : `'${String(edge.from)}' (${String(from.raw?.type)})`;
        details.push({
          path: `${path}/${key}`,
          message: `edge #${index}: '${key}' is only allowed on edges out of condition or switch nodes, not ${source}`,
          code: 'FLOW_CONDITION_EDGE',
        });
      }
    }

    if (!endpointsOk) return;
    const fromId = edge.from as string;
    const toId = edge.to as string;
    if (fromId === toId) {
      details.push({ path, message: `edge #${index} connects '${fromId}' to itself`, code: 'FLOW_SELF_EDGE' });
      return;
    }
    const key = `${fromId}\u0000${toId}`;
    const first = seen.get(key);
    if (first !== undefined) {
      details.push({ path, message: `edge #${index} repeats edge #${first} (${fromId} → ${toId})`, code: 'FLOW_DUPLICATE_EDGE' });
      return;
    }
    seen.set(key, index);
    const spec = from?.spec;
    if (spec?.checkOutEdge !== undefined) {
      const earlier = branchEdges.get(fromId) ?? [];
      for (const detail of spec.checkOutEdge({ index, edge }, earlier)) {
        details.push({ ...detail, path: path + detail.path, message: `edge #${index}: ${detail.message}` });
      }
      branchEdges.set(fromId, [...earlier, { index, edge }]);
    }
    graphEdges.push({ from: fromId, to: toId });
  });

  return { details, graphEdges, incomplete };
}
