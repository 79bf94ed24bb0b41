import { codeNodeSpec } from './code-node.js';
import { conditionNodeSpec } from './condition-node.js';
import { httpNodeSpec } from './http-node.js';
import { llmNodeSpec } from './llm-node.js';
import { mapNodeSpec } from './map-node.js';
import type { NodeTypeSpec } from './node-type-spec.js';
import { switchNodeSpec } from './switch-node.js';
import { taskNodeSpec } from './task-node.js';
import { transformNodeSpec } from './transform-node.js';
import { waitNodeSpec } from './wait-node.js';
import type { NodeType } from './types.js';

/** Every node type's spec; the Record type makes a new NodeType fail to compile until registered. */
export const nodeTypeSpecs: Readonly<Record<NodeType, NodeTypeSpec>> = {
  llm: llmNodeSpec,
  transform: transformNodeSpec,
  http: httpNodeSpec,
  condition: conditionNodeSpec,
  switch: switchNodeSpec,
  map: mapNodeSpec,
  wait: waitNodeSpec,
  code: codeNodeSpec,
  task: taskNodeSpec,
};

export function nodeTypeSpec(type: unknown): NodeTypeSpec | undefined {
  return typeof type === 'string' && Object.hasOwn(nodeTypeSpecs, type) ? nodeTypeSpecs[type as NodeType] : undefined;
}
