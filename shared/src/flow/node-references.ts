import { collectRefs } from '../templates/collect-refs.js';
import { nodeTypeSpec } from './node-type-specs.js';
import { RESERVED_NODE_IDS, type FlowNode } from './types.js';

/**
 * Distinct ids of the nodes whose results this node's templates read, in order of first use
 * (never `input`, `vault`, `item`, `index`). Throws TEMPLATE_SYNTAX on a malformed template,
 * which validateFlow has already ruled out for a stored flow.
 *
 * Only templates count: a transform node reads upstream outputs through its JSONata input
 * (`nodes.<id>`), which is not listed here.
 */
export function nodeReferences(node: FlowNode): string[] {
  const ids = new Set<string>();
  for (const field of nodeTypeSpec(node.type)?.templatedFields(node) ?? []) {
    for (const ref of collectRefs(field.text)) {
      if (!RESERVED_NODE_IDS.has(ref.root)) ids.add(ref.root);
    }
  }
  return [...ids];
}
