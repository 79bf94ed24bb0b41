import type { ErrorDetail } from '../errors/weft-error.js';
import { isRecord } from './is-record.js';
import { jsonPointer } from './json-pointer.js';
import type { NodeInfo } from './node-info.js';
import { DEFAULT_FLOW_LIMITS, type FlowLimits } from './node-type-spec.js';
import { nodeTypeSpec, nodeTypeSpecs } from './node-type-specs.js';
import { schemaErrors } from './schema-errors.js';
import { MAP_ITEM_NODE_TYPES, NODE_ID_PATTERN, RESERVED_NODE_IDS } from './types.js';

export interface NodesReport {
  details: ErrorDetail[];
  nodes: NodeInfo[];
}

/** Who took a node id first: `node #2`, or `node #0 of map 'm'` (inMap set). */
export interface IdOwner {
  label: string;
  inMap: boolean;
}

export interface ValidateNodesOptions {
  /** Pointer of the list's owner: '' for the flow, `/nodes/3/graph` for a map's sub-graph. */
  basePath?: string;
  /**
   * Ids taken so far anywhere in the flow (ids are unique across the flow, map sub-graphs
   * included) to their first owner; this list's string ids are added.
   */
  ids?: Map<string, IdOwner>;
  /** For a map's sub-graph: how to name the map (`map 'm'`); only MapItemNode types are allowed. */
  mapLabel?: string;
  /** The deployment's bounds on node configs; default DEFAULT_FLOW_LIMITS. */
  limits?: Readonly<FlowLimits>;
}

const CHECKED_HERE: ReadonlySet<string> = new Set(['id', 'type']);
const MAP_ITEM_TYPES: ReadonlySet<unknown> = new Set(MAP_ITEM_NODE_TYPES);

function checkId(info: NodeInfo, ids: Map<string, IdOwner>, owner: IdOwner): ErrorDetail[] {
  const path = `${info.path}/id`;
  const { id } = info;
  if (id === undefined) {
    const message = info.raw !== undefined && Object.hasOwn(info.raw, 'id') ? `${info.label}: id must be a string` : `${info.label}: id is required`;
    return [{ path, message, code: 'FLOW_INVALID_NODE_ID' }];
  }
  const details: ErrorDetail[] = [];
  if (!NODE_ID_PATTERN.test(id)) {
    details.push({ path, message: `node id '${id}' must match ${NODE_ID_PATTERN.source}`, code: 'FLOW_INVALID_NODE_ID' });
  } else if (RESERVED_NODE_IDS.has(id)) {
    details.push({ path, message: `node id '${id}' is reserved`, code: 'FLOW_RESERVED_NODE_ID' });
  }
  const first = ids.get(id);
  if (first === undefined) {
    ids.set(id, owner);
  } else {
    const scope = first.inMap || owner.inMap ? ' (ids are unique across the flow, map sub-graphs included)' : '';
    details.push({ path, message: `node id '${id}' is already used by ${first.label}${scope}`, code: 'FLOW_DUPLICATE_NODE_ID' });
  }
  return details;
}

function checkConfig(info: NodeInfo, limits: Readonly<FlowLimits>): ErrorDetail[] {
  const { raw, spec, label } = info;
  if (raw === undefined) return [];
  if (spec === undefined) {
    const known = Object.keys(nodeTypeSpecs).join(', ');
    const message = Object.hasOwn(raw, 'type')
      ? `${label}: unknown type ${JSON.stringify(raw.type)} (known: ${known})`
      : `${label}: type is required (one of ${known})`;
    return [{ path: `${info.path}/type`, message, code: 'FLOW_UNKNOWN_NODE_TYPE' }];
  }
  const details = schemaErrors({
    schema: spec.schema,
    value: raw,
    basePath: info.path,
    code: 'FLOW_INVALID_NODE_CONFIG',
    messagePrefix: `${label}: `,
    ignore: spec.checkedApart === undefined ? CHECKED_HERE : new Set([...CHECKED_HERE, ...spec.checkedApart]),
  });
  for (const detail of spec.check?.(raw, limits) ?? []) {
    details.push({ ...detail, path: info.path + detail.path, message: `${label}: ${detail.message}` });
  }
  return details;
}

/**
 * Checks every entry of `nodes` (the flow's, or a map's sub-graph's): id, type and the type's
 * config. A map or wait node inside a sub-graph is refused, and its config left unchecked.
 */
export function validateNodes(nodes: readonly unknown[], options: ValidateNodesOptions = {}): NodesReport {
  const { basePath = '', ids = new Map<string, IdOwner>(), mapLabel, limits = DEFAULT_FLOW_LIMITS } = options;
  const details: ErrorDetail[] = [];
  const infos: NodeInfo[] = [];
  nodes.forEach((node, index) => {
    const path = basePath + jsonPointer('nodes', index);
    const raw = isRecord(node) ? node : undefined;
    const id = typeof raw?.id === 'string' ? raw.id : undefined;
    const spec = nodeTypeSpec(raw?.type);
    const refused = mapLabel !== undefined && spec !== undefined && !MAP_ITEM_TYPES.has(raw?.type);
    const place = mapLabel === undefined ? `node #${index}` : `node #${index} of ${mapLabel}`;
    const label = id === undefined ? place : `node '${id}'`;
    const info: NodeInfo = { index, path, id, raw, spec: refused ? undefined : spec, label };
    infos.push(info);
    if (raw === undefined) {
      details.push({ path, message: `${place} must be an object`, code: 'FLOW_INVALID_SHAPE' });
      return;
    }
    details.push(...checkId(info, ids, { label: place, inMap: mapLabel !== undefined }));
    if (refused) {
      const message = `${label}: map sub-graphs may not contain map nodes (type ${JSON.stringify(raw.type)})`;
      details.push({ path: `${path}/type`, message, code: 'FLOW_INVALID_NODE_CONFIG' });
    } else {
      details.push(...checkConfig(info, limits));
    }
  });
  return { details, nodes: infos };
}
