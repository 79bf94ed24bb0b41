import Type from 'typebox';
import type { ErrorDetail } from '../errors/weft-error.js';
import { WeftError } from '../errors/weft-error.js';
import { CodeNodeSchema } from './code-node.js';
import { ConditionNodeSchema } from './condition-node.js';
import { checkJsonata } from './expression-check.js';
import { FlowEdgeSchema } from './flow-edge-schema.js';
import { buildFlowGraph } from './flow-graph.js';
import { HttpNodeSchema } from './http-node.js';
import { LlmNodeSchema } from './llm-node.js';
import { nodeCommonProperties } from './node-common-schema.js';
import type { NodeTypeSpec, TemplatedField } from './node-type-spec.js';
import { SwitchNodeSchema } from './switch-node.js';
import { WaitNodeSchema } from './wait-node.js';
import { TransformNodeSchema } from './transform-node.js';
import { MAP_MAX_CONCURRENCY, NODE_ID_PATTERN, type MapNode } from './types.js';

/** Most nodes one map's sub-graph may hold. */
export const MAP_GRAPH_MAX_NODES = 100;

export const MapItemNodeSchema = Type.Union([LlmNodeSchema, TransformNodeSchema, ConditionNodeSchema, SwitchNodeSchema, HttpNodeSchema, WaitNodeSchema, CodeNodeSchema], { title: 'MapItemNode' });

/** `edges` may be omitted (none); validateFlow fills in `[]`. */
export const MapGraphSchema = Type.Object(
  {
    nodes: Type.Array(MapItemNodeSchema, { minItems: 1, maxItems: MAP_GRAPH_MAX_NODES }),
    edges: Type.Optional(Type.Array(FlowEdgeSchema)),
  },
  { additionalProperties: false, title: 'MapGraph' },
);

export const MapNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('map'),
    /** A single `{{ref}}` to a list, or JSONata over `{input, nodes: {<id>: output}}` giving a list. */
    items: Type.String({ minLength: 1 }),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: MAP_MAX_CONCURRENCY })),
    /** Run once per item; its templates may use `{{item}}` and `{{index}}`. */
    graph: MapGraphSchema,
    /** The sub-graph node whose output fills each slot; default: the sub-graph's only leaf. */
    output: Type.Optional(Type.String()),
    onItemError: Type.Optional(Type.Enum(['fail', 'continue'])),
  },
  { additionalProperties: false, title: 'MapNode' },
);

/** `items` is a template when it is exactly one `{{ref}}` (surrounding blanks aside). */
const SINGLE_REF = /^\{\{[^{}]+\}\}$/;

function isItemsTemplate(items: string): boolean {
  return SINGLE_REF.test(items.trim());
}

/**
 * Where a map's list comes from: one `{{ref}}` (trimmed), resolved to its value as is, or a
 * JSONata expression over `{input, nodes}`.
 */
export function mapItemsSource(node: MapNode): { kind: 'template'; template: string } | { kind: 'jsonata'; expression: string } {
  return isItemsTemplate(node.items) ? { kind: 'template', template: node.items.trim() } : { kind: 'jsonata', expression: node.items };
}

/**
 * The sub-graph node whose output fills each slot: `output`, or else the sub-graph's only leaf
 * (validateFlow ensures there is exactly one). Throws FLOW_INVALID_OUTPUT otherwise.
 */
export function mapOutputNode(node: MapNode): string {
  if (node.output !== undefined) return node.output;
  const { leaves } = buildFlowGraph(node.graph);
  const [leaf] = leaves;
  if (leaf === undefined || leaves.length > 1) {
    throw new WeftError('FLOW_INVALID_OUTPUT', `map '${node.id}' has ${leaves.length} leaves and no output`);
  }
  return leaf;
}

function mapTemplatedFields(node: object): TemplatedField[] {
  const { items } = node as Record<string, unknown>;
  return typeof items === 'string' && isItemsTemplate(items) ? [{ pointer: '/items', text: items }] : [];
}

/**
 * `items` is one `{{ref}}` (parsed and checked by validateTemplates) or JSONata that parses.
 * The sub-graph and `output` are checked by validateFlow (validateMapGraph).
 */
function checkMap(node: object): ErrorDetail[] {
  const { items } = node as Record<string, unknown>;
  if (typeof items !== 'string' || items === '' || isItemsTemplate(items)) return [];
  return checkJsonata(items, '/items');
}

export const mapNodeSpec: NodeTypeSpec = {
  // Evaluating items and expanding is cheap and idempotent; item nodes have their own retry.
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000 } },
  schema: MapNodeSchema,
  templatedFields: mapTemplatedFields,
  checkedApart: ['graph'],
  check: checkMap,
  branching: false,
  allowsVaultRefs: false,
};

const ID = NODE_ID_PATTERN.source.replace(/^\^/, '').replace(/\$$/, '');
const MAP_ITEM_NODE_ID = new RegExp(`^(${ID})\\[(0|[1-9][0-9]*)\\]\\.(${ID})$`);

/**
 * The runtime id of sub-graph node `nodeId` in item `index` of map `mapId`:
 * `<mapId>[<index>].<nodeId>` (`summarize[3].llm`). Node ids match NODE_ID_PATTERN (no
 * brackets, no dots), so the format is unambiguous. `index` is a non-negative integer.
 */
export function mapItemNodeId(mapId: string, index: number, nodeId: string): string {
  return `${mapId}[${index}].${nodeId}`;
}

/** The parts of a runtime map item node id, or null when `id` is not one. */
export function parseMapItemNodeId(id: string): { mapId: string; index: number; nodeId: string } | null {
  const match = MAP_ITEM_NODE_ID.exec(id);
  if (match === null) return null;
  const [, mapId = '', digits = '', nodeId = ''] = match;
  const index = Number(digits);
  return Number.isSafeInteger(index) ? { mapId, index, nodeId } : null;
}

export function isMapItemNodeId(id: string): boolean {
  return parseMapItemNodeId(id) !== null;
}
