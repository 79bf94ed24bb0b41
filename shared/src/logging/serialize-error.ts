/**
 * The `err` serializer of every Weft logger: pino's own, except that the values a failed SQL
 * statement carried never reach a log line. drizzle's DrizzleQueryError writes its parameters
 * (flow definitions, execution inputs, node outputs) into its message and keeps them as
 * `params`, and node-postgres quotes values in `detail` and `where`; the line keeps the SQL
 * text, the SQLSTATE and constraint, and each parameter's shape: its type and length.
 */
import { pino } from 'pino';

const MAX_CAUSES = 10;

/** `string(120)`, `number`, `boolean`, `null`, `bytes(16)`, `date`, `array(3)`, `object`. */
export function valueShape(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return `string(${value.length})`;
  if (Buffer.isBuffer(value)) return `bytes(${value.length})`;
  if (value instanceof Date) return 'date';
  if (Array.isArray(value)) return `array(${value.length})`;
  return typeof value;
}

/** The parameters of a failed statement as shapes: `[string(14), number, null]`. */
export function paramsShape(params: readonly unknown[]): string {
  return `[${params.map(valueShape).join(', ')}]`;
}

interface QueryErrorLike {
  query: string;
  params: unknown[];
  message: string;
}

function isQueryError(err: unknown): err is QueryErrorLike {
  if (!(err instanceof Error)) return false;
  const e = err as Partial<QueryErrorLike>;
  return typeof e.query === 'string' && Array.isArray(e.params);
}

/** Texts that show parameter values, each with what replaces it. */
function replacements(err: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let current: unknown = err;
  for (let depth = 0; depth < MAX_CAUSES && current instanceof Error; depth++) {
    if (isQueryError(current)) {
      // drizzle writes `params: ${params}`, i.e. the array joined with commas.
      out.push([`params: ${current.params.join(',')}`, `params: ${paramsShape(current.params)}`]);
    }
    for (const key of ['detail', 'where'] as const) {
      const text = (current as { detail?: unknown; where?: unknown })[key];
      if (typeof text === 'string' && text !== '') out.push([text, `[${key}: ${valueShape(text)}]`]);
    }
    current = current.cause;
  }
  return out.filter(([from]) => from !== '');
}

function replaceAll(text: unknown, pairs: ReadonlyArray<[string, string]>): unknown {
  if (typeof text !== 'string') return text;
  return pairs.reduce((acc, [from, to]) => acc.split(from).join(to), text);
}

export function serializeError(err: unknown): unknown {
  const serialized: unknown = pino.stdSerializers.err(err as Error);
  const pairs = replacements(err);
  if (pairs.length === 0 || typeof serialized !== 'object' || serialized === null) return serialized;
  const out = serialized as Record<string, unknown>;
  out.message = replaceAll(out.message, pairs);
  out.stack = replaceAll(out.stack, pairs);
  if (Array.isArray(out.params)) out.params = paramsShape(out.params);
  for (const key of ['detail', 'where']) {
    if (typeof out[key] === 'string') out[key] = `[${key}: ${valueShape(out[key])}]`;
  }
  return out;
}
