import jsonata from 'jsonata';

/**
 * Compiled JSONata expressions by source, one cache per node runner: compiling costs several
 * times evaluating, and a flow's expressions repeat on every execution. Bounded, oldest out.
 */
export class ExpressionCache {
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
}
