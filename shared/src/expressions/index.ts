/** JSONata as Weft runs it: compiled once per source, over `{input, nodes, item?, index?}`, bounded in a thread pool. */
export * from './expression-cache.js';
export * from './expression-data.js';
export * from './expression-evaluator.js';
export * from './expression-pool.js';
export type { ExpressionBound, ExpressionLimits } from './expression-task.js';
