import Type from 'typebox';
import { CodeNodeSchema } from './code-node.js';
import { ConditionNodeSchema } from './condition-node.js';
import { FlowEdgeSchema } from './flow-edge-schema.js';
import { HttpNodeSchema } from './http-node.js';
import { LlmNodeSchema } from './llm-node.js';
import { MapNodeSchema } from './map-node.js';
import { SwitchNodeSchema } from './switch-node.js';
import { TaskNodeSchema } from './task-node.js';
import { TransformNodeSchema } from './transform-node.js';
import { WaitNodeSchema } from './wait-node.js';
import type { CodeNode, ConditionNode, FlowDefinition, FlowEdge, FlowNode, LlmNode, MapGraph, MapNode, SwitchNode, TaskNode, TransformNode, WaitNode } from './types.js';

export { FlowEdgeSchema };

export const FLOW_NAME_MAX_LENGTH = 200;
export const FLOW_MAX_NODES = 500;

export const FlowNodeSchema = Type.Union([
  LlmNodeSchema,
  TransformNodeSchema,
  ConditionNodeSchema,
  SwitchNodeSchema,
  HttpNodeSchema,
  MapNodeSchema,
  WaitNodeSchema,
  CodeNodeSchema,
  TaskNodeSchema,
], { title: 'FlowNode', description: 'A node, by its type' });

/**
 * The flow document as JSON Schema, for OpenAPI. It describes the shape only: validateFlow is
 * the authority (unique ids, edges, cycles, refs, expressions) and gives better errors.
 */
export const FlowDefinitionSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: FLOW_NAME_MAX_LENGTH }),
    nodes: Type.Array(FlowNodeSchema, { minItems: 1, maxItems: FLOW_MAX_NODES }),
    edges: Type.Optional(Type.Array(FlowEdgeSchema)),
    output: Type.Optional(Type.String()),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400_000 })),
    // Untyped here (any JSON, as `input`): a JSON Schema is an open document; validateFlow checks it.
    inputSchema: Type.Optional(Type.Unsafe<Record<string, unknown>>({
      description: 'A JSON Schema object (draft 2020-12) every start\'s input must match (400 invalid_input, a path per problem). At most 64 KiB and 32 levels; '
        + 'pattern, patternProperties, format "regex", $id and $ref outside the schema are refused; formats are not checked',
    })),
  },
  { additionalProperties: false },
);

// Compile-time guards: the schemas and the hand-written types in types.ts must agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type _LlmNodeMatches = Assert<Same<Type.Static<typeof LlmNodeSchema>, LlmNode>>;
type _TransformNodeMatches = Assert<Same<Type.Static<typeof TransformNodeSchema>, TransformNode>>;
type _WaitNodeMatches = Assert<Same<Type.Static<typeof WaitNodeSchema>, WaitNode>>;
type _ConditionNodeMatches = Assert<Same<Type.Static<typeof ConditionNodeSchema>, ConditionNode>>;
type _SwitchNodeMatches = Assert<Same<Type.Static<typeof SwitchNodeSchema>, SwitchNode>>;
type _CodeNodeMatches = Assert<Same<Type.Static<typeof CodeNodeSchema>, CodeNode>>;
type _TaskNodeMatches = Assert<Same<Type.Static<typeof TaskNodeSchema>, TaskNode>>;
// As posted, a map's sub-graph may omit `edges`, like the flow itself; validateFlow fills in [].
type PostedMapNode = Omit<MapNode, 'graph'> & { graph: Omit<MapGraph, 'edges'> & { edges?: FlowEdge[] } };
type PostedFlowNode = Exclude<FlowNode, MapNode> | PostedMapNode;
type _MapNodeMatches = Assert<Same<Type.Static<typeof MapNodeSchema>, PostedMapNode>>;
type _FlowNodeMatches = Assert<Same<Type.Static<typeof FlowNodeSchema>, PostedFlowNode>>;
type _FlowEdgeMatches = Assert<Same<Type.Static<typeof FlowEdgeSchema>, FlowEdge>>;
type _FlowDefinitionMatches = Assert<
  Same<Type.Static<typeof FlowDefinitionSchema>, Omit<FlowDefinition, 'nodes' | 'edges'> & { nodes: PostedFlowNode[]; edges?: FlowEdge[] }>
>;
