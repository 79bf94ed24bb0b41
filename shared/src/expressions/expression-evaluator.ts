/** How the engine and the executors evaluate JSONata: one port, bounded or not behind it. */
import type { Logger } from '../logging/index.js';

export interface EvaluateExpressionInput {
  expression: string;
  /** What the expression sees (expressionData). */
  data: unknown;
  /** How the expression is named in errors: `expression of node 't'`, `items of map 'm'`. */
  what: string;
  /** The node's own signal (its timeoutMs, a cancel): aborts the evaluation too. */
  signal?: AbortSignal | undefined;
  /** Where a limit hit is logged (the node's logger, with its execution and node ids). */
  log?: Logger | undefined;
}

export interface ExpressionEvaluator {
  /**
   * The expression's value (`undefined`: JSONata's "no value"). Throws WeftError
   * TRANSFORM_FAILED when the expression fails (`<what> failed: …`) and
   * EXPRESSION_LIMIT_EXCEEDED when it hits a bound of the deployment (the message names it).
   */
  evaluate(input: EvaluateExpressionInput): Promise<unknown>;
}
