import { WeftError } from '@weft/shared/errors';
import type { FlowNode } from '@weft/shared/flow';
import { runConditionNode } from './condition.node.js';
import { ExpressionCache } from '@weft/shared/expressions';
import { createHttpNodeExecutor, type HttpNodeDeps } from './http.node.js';
import { createLlmNodeExecutor, type LlmNodeDeps } from './llm.node.js';
import { runSwitchNode } from './switch.node.js';
import { runTransformNode } from './transform.node.js';
import type { NodeOutcome, NodeRunContext } from '@weft/shared/ports';

export type { NodeExecutor, NodeOutcome, NodeRunContext } from '@weft/shared/ports';
export type { CredentialSource, EgressPolicy, EgressPolicySource, NodeSources, PriceSource, SecretSource } from './sources.js';

/** One executor per node type; the switch is exhaustive so a new type must be wired here. */
export function createNodeRunner(deps: LlmNodeDeps & HttpNodeDeps): (ctx: NodeRunContext) => Promise<NodeOutcome> {
  const llm = createLlmNodeExecutor(deps);
  const http = createHttpNodeExecutor(deps);
  const expressions = new ExpressionCache();
  return (input) => {
    const ctx = { ...input, expressions };
    const node: FlowNode = ctx.node;
    switch (node.type) {
      case 'llm':
        return llm({ ...ctx, node });
      case 'transform':
        return runTransformNode({ ...ctx, node });
      case 'condition':
        return runConditionNode({ ...ctx, node });
      case 'switch':
        return runSwitchNode({ ...ctx, node });
      case 'http':
        return http({ ...ctx, node });
      case 'map':
        // A map expands into its items' node jobs: the node processor does it, not an executor.
        return Promise.reject(
          new WeftError('INTERNAL_ERROR', `map node '${node.id}' has no executor: the node processor expands it`, { category: 'permanent' }),
        );
      case 'wait':
        // Waits suspend their node instead of running an executor: the node processor and the
        // resume queue handle them.
        return Promise.reject(new WeftError('INTERNAL_ERROR', `wait node '${node.id}' has no executor`, { category: 'permanent' }));
    }
  };
}
