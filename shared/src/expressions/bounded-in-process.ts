import jsonata from 'jsonata';

/** Longer expressions always go to a thread: the rule below bounds work by expression size. */
const MAX_IN_PROCESS_LENGTH = 500;

const LITERALS: ReadonlySet<unknown> = new Set(['string', 'number', 'value']);
/** Every operator but the range `..`, which builds a list natively. */
const BINARY: ReadonlySet<unknown> = new Set(['+', '-', '*', '/', '%', '=', '!=', '<', '<=', '>', '>=', '&', 'and', 'or', 'in']);
/** Keys of an AST node that carry no sub-expression. */
const INERT_KEYS: ReadonlySet<string> = new Set(['type', 'value', 'position', 'keepArray', 'consarray', 'keepSingletonArray']);

/**
 * Built-in functions whose work and result are linear in their arguments, and which take no
 * function, pattern or count that could multiply either: what they add to an expression is no
 * more than a path over the same data. Left out, among others: $pad, $join and $replace (a count
 * or separator from the data multiplies the result), $split, $distinct and $sort (more than linear),
 * $eval, $match and every function taking a function ($map, $filter, $reduce, $each, $sift).
 * $string takes its value only (its prettified form grows with the data's depth).
 */
const LINEAR_FUNCTIONS: ReadonlySet<unknown> = new Set([
  'uppercase', 'lowercase', 'trim', 'length', 'substring', 'substringBefore', 'substringAfter', 'contains',
  'number', 'boolean', 'not', 'exists', 'type', 'abs', 'floor', 'ceil', 'round',
  'sum', 'max', 'min', 'average', 'count', 'keys', 'lookup', 'append', 'merge', 'reverse',
  'now', 'millis', 'toMillis', 'fromMillis',
]);

type Ast = Record<string, unknown>;

function isAst(value: unknown): value is Ast {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(node: Ast, allowed: readonly string[]): boolean {
  return Object.keys(node).every((key) => INERT_KEYS.has(key) || allowed.includes(key));
}

function filtersCheap(stages: unknown): boolean {
  if (stages === undefined) return true;
  return Array.isArray(stages) && stages.every((stage) => isAst(stage) && stage.type === 'filter' && onlyKeys(stage, ['expr']) && cheap(stage.expr));
}

/** A name or wildcard step, optionally filtered: it only walks the value before it. */
function cheapStep(step: unknown): boolean {
  return isAst(step) && (step.type === 'name' || step.type === 'wildcard') && onlyKeys(step, ['stages']) && filtersCheap(step.stages);
}

function cheap(node: unknown): boolean {
  if (!isAst(node)) return false;
  const { type } = node;
  if (LITERALS.has(type)) return onlyKeys(node, []);
  switch (type) {
    case 'path': {
      const steps = node.steps;
      if (!Array.isArray(steps) || steps.length === 0 || !onlyKeys(node, ['steps'])) return false;
      const [first, ...rest] = steps as unknown[];
      // `$` (the context) may start a path; `$$` and named variables may not (cross products).
      const firstCheap = cheapStep(first) || (isAst(first) && first.type === 'variable' && first.value === '' && onlyKeys(first, ['stages']) && filtersCheap(first.stages));
      return firstCheap && rest.every(cheapStep);
    }
    case 'name':
    case 'wildcard':
      return cheapStep(node);
    case 'variable':
      return node.value === '' && onlyKeys(node, ['stages']) && filtersCheap(node.stages);
    case 'binary':
      return BINARY.has(node.value) && onlyKeys(node, ['lhs', 'rhs']) && cheap(node.lhs) && cheap(node.rhs);
    case 'condition':
      return onlyKeys(node, ['condition', 'then', 'else']) && cheap(node.condition) && cheap(node.then) && (node.else === undefined || cheap(node.else));
    case 'function': {
      // A built-in called by name with cheap arguments ($uppercase(input.topic)).
      const { procedure, arguments: args } = node;
      if (node.value !== '(' || !onlyKeys(node, ['name', 'procedure', 'arguments']) || !Array.isArray(args) || !args.every(cheap)) return false;
      if (!isAst(procedure) || procedure.type !== 'variable' || !onlyKeys(procedure, [])) return false;
      return procedure.value === 'string' ? args.length <= 1 : LINEAR_FUNCTIONS.has(procedure.value);
    }
    case 'block':
      return onlyKeys(node, ['expressions']) && Array.isArray(node.expressions) && node.expressions.every(cheap);
    case 'unary':
      if (node.value === '-') return onlyKeys(node, ['expression']) && cheap(node.expression);
      if (node.value === '[') return onlyKeys(node, ['expressions']) && Array.isArray(node.expressions) && node.expressions.every(cheap);
      if (node.value === '{') {
        return onlyKeys(node, ['lhs']) && Array.isArray(node.lhs)
          && node.lhs.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(cheap));
      }
      return false;
    default:
      return false;
  }
}

/**
 * Whether an expression is cheap by construction, so that evaluating it in process (with the
 * same guardrails) cannot stall the event loop: short, and made only of literals, operators (no
 * range), conditions, constructors, blocks, paths of plain names, wildcards and filters over
 * the data, and calls of the built-ins whose work is linear in their arguments (LINEAR_FUNCTIONS).
 * No other function call, lambda, variable binding, regex, sort, grouping, range, `$$` or tuple
 * binding, so there is no loop but walking the data once per step, and no native builder.
 * Any other expression is evaluated in a thread. An expression that does not parse: false.
 */
export function isCheapExpression(expression: string): boolean {
  if (expression.length > MAX_IN_PROCESS_LENGTH) return false;
  try {
    return cheap(jsonata(expression).ast());
  } catch {
    return false;
  }
}
