import { WeftError } from '@weft/shared/errors';
import { ENGINE_NODE_TYPES, type EngineNodeType, type ExecutorNodeType, type NodeOfType, type NodeType } from '@weft/shared/flow';
import { createCodeNodeExecutor, type CodeNodeDeps } from './code.node.js';
import { runConditionNode } from './condition.node.js';
import type { ExpressionEvaluator } from '@weft/shared/expressions';
import { createHttpNodeExecutor, type HttpNodeDeps } from './http.node.js';
import { createLlmNodeExecutor, type LlmNodeDeps } from './llm.node.js';
import { runSwitchNode } from './switch.node.js';
import { runTransformNode } from './transform.node.js';
import type { NodeExecutor, NodeOutcome, NodeRunContext } from '@weft/shared/ports';

export type { NodeExecutor, NodeOutcome, NodeRunContext } from '@weft/shared/ports';
export type { CredentialSource, EgressPolicy, EgressPolicySource, NodeSources, PriceSource, ProviderClient, ProviderClientSource, SecretSource } from './sources.js';

/** One executor per type a worker runs: the type's key is required, so a new type must be wired here. */
export type NodeExecutors = { readonly [T in ExecutorNodeType]: NodeExecutor<NodeOfType<T>> };

export function createNodeExecutors(deps: LlmNodeDeps & HttpNodeDeps & CodeNodeDeps): NodeExecutors {
  return {
    llm: createLlmNodeExecutor(deps),
    transform: runTransformNode,
    condition: runConditionNode,
    switch: runSwitchNode,
    http: createHttpNodeExecutor(deps),
    code: createCodeNodeExecutor(deps),
  };
}

function isEngineNodeType(type: NodeType): type is EngineNodeType {
  return (ENGINE_NODE_TYPES as readonly NodeType[]).includes(type);
}

/**
 * Runs a node with its type's executor; maps and waits are the engine's own (no executor).
 * `expressions` evaluates transform, condition and switch expressions (the worker's ExpressionPool);
 * `code` runs code nodes' sources (the worker's CodeSandbox).
 */
export function createNodeRunner(deps: LlmNodeDeps & HttpNodeDeps & CodeNodeDeps & { expressions: ExpressionEvaluator }): (ctx: NodeRunContext) => Promise<NodeOutcome> {
  const executors = createNodeExecutors(deps);
  const { expressions } = deps;
  return (input) => {
    const { type } = input.node;
    if (isEngineNodeType(type)) {
      return Promise.reject(new WeftError('INTERNAL_ERROR', `${type} node '${input.node.id}' has no executor: the engine runs it`, { category: 'permanent' }));
    }
    // The table is keyed by type, so the executor matches the node it is given.
    const run = executors[type] as NodeExecutor;
    return run({ ...input, expressions });
  };
}
