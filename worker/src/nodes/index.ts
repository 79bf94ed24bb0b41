import type { FlowNode } from '@weft/shared/flow';
import { createLlmNodeExecutor, type LlmNodeDeps } from './llm.node.js';
import { runTransformNode } from './transform.node.js';
import type { NodeOutcome, NodeRunContext } from './types.js';

export type { NodeExecutor, NodeOutcome, NodeRunContext } from './types.js';

/** One executor per node type; the switch is exhaustive so a new type must be wired here. */
export function createNodeRunner(deps: LlmNodeDeps): (ctx: NodeRunContext) => Promise<NodeOutcome> {
  const llm = createLlmNodeExecutor(deps);
  return (ctx) => {
    const node: FlowNode = ctx.node;
    switch (node.type) {
      case 'llm':
        return llm({ ...ctx, node });
      case 'transform':
        return runTransformNode({ ...ctx, node });
    }
  };
}
