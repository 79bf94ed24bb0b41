/**
 * A budget Weft can keep. `maxCostUsd` stops LLM nodes once the execution's cost passes it, and
 * a model without a price has no cost: under a budget it would run unmetered. So a start with
 * `maxCostUsd` is refused (BUDGET_UNPRICED_MODEL, one detail per node) when an LLM node of the
 * flow version — its sub-graphs' included — names a model that neither the price table (by the
 * alias rule of engine/pricing.ts) nor the workspace's fallback price can price. The flow is
 * pinned and its models are literal, so this is known before anything runs.
 *
 * A model is not a template: Weft sends the string as written. A `model` holding `{{…}}` is
 * therefore looked up as written like any other; should templating ever reach it, its price
 * could not be known at the start, so it counts as unpriced here (with its own message) and
 * only a fallback price admits it under a budget.
 */
import { quotePrice } from '../engine/index.js';
import { WeftError, type ErrorDetail } from '../errors/index.js';
import type { FlowDefinition, LlmNode } from '../flow/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { ModelPrice, Repos } from '../ports/database.js';

export interface LlmModelUse {
  /** JSON pointer to the node's `model` in the flow document. */
  path: string;
  /** The node id (a sub-graph node's own id). */
  nodeId: string;
  provider: LlmNode['provider'];
  model: string;
}

/** Every LLM node of a flow, sub-graph nodes included, with where its model is written. */
export function llmModelUses(flow: Pick<FlowDefinition, 'nodes'>): LlmModelUse[] {
  const uses: LlmModelUse[] = [];
  flow.nodes.forEach((node, i) => {
    if (node.type === 'llm') uses.push({ path: `/nodes/${i}/model`, nodeId: node.id, provider: node.provider, model: node.model });
    if (node.type === 'map') {
      node.graph.nodes.forEach((inner, j) => {
        if (inner.type === 'llm') uses.push({ path: `/nodes/${i}/graph/nodes/${j}/model`, nodeId: inner.id, provider: inner.provider, model: inner.model });
      });
    }
  });
  return uses;
}

const looksTemplated = (model: string): boolean => model.includes('{{');

/** The uses the price table cannot price (templated models always). */
export function unpricedUses(uses: readonly LlmModelUse[], table: readonly ModelPrice[]): LlmModelUse[] {
  const rows = new Map(table.map((p) => [`${p.provider}/${p.model}`, p]));
  return uses.filter((use) => looksTemplated(use.model) || quotePrice({ model: use.model, find: (name) => rows.get(`${use.provider}/${name}`) }).pricing === 'unpriced');
}

export interface BudgetPricingDeps {
  repos: Pick<Repos, 'pricing' | 'workspaces'>;
  logger: Logger;
  metrics: WeftMetrics;
}

/** Throws BUDGET_UNPRICED_MODEL when the flow would run a model the budget cannot meter. */
export async function assertBudgetPriced(deps: BudgetPricingDeps, input: { workspaceId: string; flow: Pick<FlowDefinition, 'nodes'> & { id: string; version: number } }): Promise<void> {
  const uses = llmModelUses(input.flow);
  if (uses.length === 0) return;
  const unpriced = unpricedUses(uses, await deps.repos.pricing.list());
  if (unpriced.length === 0) return;
  // Read only when needed: a fallback price prices anything the table lacks.
  const settings = await deps.repos.workspaces.getSettings(input.workspaceId);
  if (settings?.fallbackPrice) return;
  const details: ErrorDetail[] = unpriced.map((use) => ({
    path: use.path,
    message: looksTemplated(use.model)
      ? `node '${use.nodeId}': model '${use.model}' is a template, so its price cannot be known before the run`
      : `node '${use.nodeId}': ${use.provider} model '${use.model}' has no price`,
    code: 'BUDGET_UNPRICED_MODEL',
  }));
  deps.metrics.executionsRefusedTotal.inc({ code: 'BUDGET_UNPRICED_MODEL' });
  deps.logger.info({ flowId: input.flow.id, flowVersion: input.flow.version, nodes: unpriced.map((u) => u.nodeId), models: unpriced.map((u) => `${u.provider}/${u.model}`) }, 'start refused: maxCostUsd with an unpriced model');
  const names = unpriced.map((u) => `'${u.nodeId}'`).join(', ');
  throw new WeftError(
    'BUDGET_UNPRICED_MODEL',
    `maxCostUsd cannot be kept: node${unpriced.length > 1 ? 's' : ''} ${names} use${unpriced.length > 1 ? '' : 's'} a model without a price (set one with PUT /v1/models/{provider}/{model}, or a workspace fallbackPrice with PATCH /v1/workspace)`,
    { details },
  );
}
