import type { ErrorDetail } from '../errors/weft-error.js';
import { isRecord } from './is-record.js';
import { jsonPointer } from './json-pointer.js';
import type { NodeInfo } from './node-info.js';
import { nodeTypeSpec, nodeTypeSpecs } from './node-type-specs.js';
import { schemaErrors } from './schema-errors.js';
import { NODE_ID_PATTERN, RESERVED_NODE_IDS } from './types.js';

export interface NodesReport {
  details: ErrorDetail[];
  nodes: NodeInfo[];
  /** Every string id (valid or not) to the index of its first occurrence. */
  ids: Map<string, number>;
}

const CHECKED_HERE: ReadonlySet<string> = new Set(['id', 'type']);

function checkId(info: NodeInfo, ids: Map<string, number>): ErrorDetail[] {
  const path = jsonPointer('nodes', info.index, 'id');
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
  if (first === undefined) ids.set(id, info.index);
  else details.push({ path, message: `node id '${id}' is already used by node #${first}`, code: 'FLOW_DUPLICATE_NODE_ID' });
  return details;
}

function checkConfig(info: NodeInfo): ErrorDetail[] {
  const { raw, spec, index, label } = info;
  if (raw === undefined) return [];
  if (spec === undefined) {
    const known = Object.keys(nodeTypeSpecs).join(', ');
    const message = Object.hasOwn(raw, 'type')
      ? `${label}: unknown type ${JSON.stringify(raw.type)} (known: ${known})`
      : `${label}: type is required (one of ${known})`;
    return [{ path: jsonPointer('nodes', index, 'type'), message, code: 'FLOW_UNKNOWN_NODE_TYPE' }];
  }
  const basePath = jsonPointer('nodes', index);
  const details = schemaErrors({
    schema: spec.schema,
    value: raw,
    basePath,
    code: 'FLOW_INVALID_NODE_CONFIG',
    messagePrefix: `${label}: `,
    ignore: CHECKED_HERE,
  });
  for (const detail of spec.check?.(raw) ?? []) {
    details.push({ ...detail, path: basePath + detail.path, message: `${label}: ${detail.message}` });
  }
  return details;
}

/** Checks every entry of `nodes`: id, type and the type's config. */
export function validateNodes(nodes: readonly unknown[]): NodesReport {
  const details: ErrorDetail[] = [];
  const infos: NodeInfo[] = [];
  const ids = new Map<string, number>();
  nodes.forEach((node, index) => {
    const raw = isRecord(node) ? node : undefined;
    const id = typeof raw?.id === 'string' ? raw.id : undefined;
    const info: NodeInfo = { index, id, raw, spec: nodeTypeSpec(raw?.type), label: id === undefined ? `node #${index}` : `node '${id}'` };
    infos.push(info);
    if (raw === undefined) {
      details.push({ path: jsonPointer('nodes', index), message: `node #${index} must be an object`, code: 'FLOW_INVALID_SHAPE' });
      return;
    }
    details.push(...checkId(info, ids), ...checkConfig(info));
  });
  return { details, nodes: infos, ids };
}
