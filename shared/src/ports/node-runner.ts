import type { ExpressionEvaluator } from '../expressions/expression-evaluator.js';
import type { Cost, NodeLogEntry, NodeResult, PricingStatus, Usage } from '../model/index.js';
import type { FlowEdge, FlowNode } from '../flow/types.js';
import type { Logger } from '../logging/index.js';
import type { MapItemScope } from '../templates/types.js';

export interface NodeRunContext<N extends FlowNode = FlowNode> {
  node: N;
  /**
   * The node's out-edges in document order, with their `when` / `default` labels (a map
   * item's node: its sub-graph's edges, by local ids). Branching executors pick from them.
   */
  outEdges: readonly FlowEdge[];
  workspaceId: string;
  executionId: string;
  attempt: number;
  /** The execution's input. */
  input: unknown;
  /** Terminal results of the upstream nodes this node reads (a map item's siblings by their own ids). */
  results: Record<string, NodeResult>;
  /** Inside a map's sub-graph: the item and its index. */
  scope?: MapItemScope;
  /** The execution's `maxCostUsd`, when it has one: an LLM node refuses a model it cannot price. */
  maxCostUsd?: number;
  signal: AbortSignal;
  logger: Logger;
  /** Evaluates the node's JSONata (transform, condition, switch), bounded; absent: in process, unbounded (pure tests). */
  expressions?: ExpressionEvaluator;
  /** Streams a text delta to clients (coalesced by the caller). */
  emitToken: (text: string) => void;
}

export interface NodeOutcome {
  output: unknown;
  /** The input after resolution (rendered prompt, expression input), stored on the run. */
  resolvedInput: unknown;
  usage: Usage | null;
  cost: Cost | null;
  /** How `cost` was priced; absent for nodes that call no model. */
  pricing?: PricingStatus;
  /** The price-table row `cost` used (the model, or the row its alias resolved to). */
  pricedAs?: string | null;
  provider: string | null;
  model: string | null;
  /**
   * Children whose edge from this node is taken (condition, switch). Absent: all of them.
   * A child none of whose incoming edges is taken is skipped, and skipping propagates.
   */
  takenChildren?: string[];
  /** What the node wrote while it ran (a code node's console), stored on its run. */
  logs?: NodeLogEntry[];
}

export type NodeExecutor<N extends FlowNode = FlowNode> = (ctx: NodeRunContext<N>) => Promise<NodeOutcome>;

/** Runs a node of any type that has an executor (the worker provides it; maps and waits are the engine's). */
export type NodeRunner = (ctx: NodeRunContext) => Promise<NodeOutcome>;
