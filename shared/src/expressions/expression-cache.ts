import jsonata from 'jsonata';
import { WeftError } from '../errors/weft-error.js';
import type { EvaluateExpressionInput, ExpressionEvaluator } from './expression-evaluator.js';
import { describeJsonataError } from './expression-data.js';

/**
 * Compiled JSONata expressions by source: compiling costs several times evaluating, and a
 * flow's expressions repeat on every execution. Bounded, oldest out. As an evaluator it runs in
 * process and unbounded: for pure tests and tools only; processes that run tenants'
 * expressions use ExpressionPool.
 */
export class ExpressionCache implements ExpressionEvaluator {
  private readonly compiled = new Map<string, jsonata.Expression>();

  constructor(private readonly maxEntries = 1000) {}

  compile(expression: string): jsonata.Expression {
    let expr = this.compiled.get(expression);
    if (!expr) {
      expr = jsonata(expression);
      this.compiled.set(expression, expr);
      if (this.compiled.size > this.maxEntries) {
        const oldest = this.compiled.keys().next().value;
        if (oldest !== undefined) this.compiled.delete(oldest);
      }
    }
    return expr;
  }

  async evaluate(input: EvaluateExpressionInput): Promise<unknown> {
    try {
      return (await this.compile(input.expression).evaluate(input.data)) as unknown;
    } catch (err) {
      throw new WeftError('TRANSFORM_FAILED', `${input.what} failed: ${describeJsonataError(err)}`, { cause: err });
    }
  }
}
