/** What crosses between the expression pool and its threads (structured clone). */

/** The bounds of one evaluation (config: WEFT_EXPRESSION_*). */
export interface ExpressionLimits {
  /** Wall time of one evaluation, from when a thread starts it. */
  timeoutMs: number;
  /** Nesting depth of JSONata's evaluator (jsonata's `stack` option): bounds recursion. */
  maxDepth: number;
  /** The longest string, and the largest JSON value, an evaluation may build. */
  maxBytes: number;
}

/** Which bound an evaluation hit: a closed set, used as a metric label. */
export type ExpressionBound = 'time' | 'depth' | 'size' | 'memory';

export interface ExpressionTask {
  expression: string;
  data: unknown;
  limits: ExpressionLimits;
  /** One BigInt64 slot: the thread writes Date.now() when it starts the evaluation. */
  startedAt: BigInt64Array;
}

export type ExpressionTaskResult =
  /** The value as JSON (what a node stores anyway; functions and sequence flags do not cross); undefined: no value. */
  | { ok: true; json: string | undefined }
  | { ok: false; limit?: ExpressionBound; message: string };
