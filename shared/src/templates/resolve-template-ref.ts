import { WeftError } from '../errors/weft-error.js';
import type { TemplateContext, TemplateRef } from './types.js';

function missing(ref: TemplateRef, reason: string): WeftError {
  return new WeftError('TEMPLATE_MISSING_REF', `cannot resolve {{${ref.source}}}: ${reason}`);
}

/** Follows `path` into `value`; `where` names the starting point in error messages. */
function walk(ref: TemplateRef, value: unknown, path: readonly string[], where: string): unknown {
  let current = value;
  let at = where;
  for (const segment of path) {
    if (Array.isArray(current)) {
      const index = /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : Number.NaN;
      if (!(index < current.length)) throw missing(ref, `${at} is an array of ${current.length} and has no index '${segment}'`);
      current = current[index] as unknown;
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      const kind = current === null ? 'null' : typeof current;
      const reason = typeof current === 'object' && current !== null ? `${at} has no '${segment}'` : `${at} is ${kind}, not an object`;
      throw missing(ref, reason);
    }
    if (current === undefined) throw missing(ref, `${at} has no '${segment}'`);
    at = `${at}.${segment}`;
  }
  if (current === undefined) throw missing(ref, `${at} has no value`);
  return current;
}

/** `{{vault.NAME}}`: the secret's value; the message names the secret, never a value. */
function resolveVaultRef(ref: TemplateRef, vault: Readonly<Record<string, string>>): string {
  const [name, ...rest] = ref.path;
  if (name === undefined || rest.length > 0) throw missing(ref, 'write {{vault.NAME}} with one secret name');
  const value = Object.hasOwn(vault, name) ? vault[name] : undefined;
  if (value === undefined) throw missing(ref, `the workspace has no secret '${name}' (PUT /v1/secrets/${name})`);
  return value;
}

/**
 * The value a reference points to. `{{node}}` and `{{node.output}}` are the node's output,
 * `{{node.usage.x}}` a usage counter, `{{vault.NAME}}` a secret when `ctx.vault` is given.
 * Throws TEMPLATE_MISSING_REF when anything on the way is missing: there is no silent fallback.
 */
export function resolveTemplateRef(ref: TemplateRef, ctx: TemplateContext): unknown {
  if (ref.root === 'input') return walk(ref, ctx.input, ref.path, 'input');
  if (ref.root === 'vault' && ctx.vault !== undefined) return resolveVaultRef(ref, ctx.vault);
  if (ref.root === 'item' && ctx.scope !== undefined) return walk(ref, ctx.scope.item, ref.path, 'item');
  if (ref.root === 'index' && ctx.scope !== undefined && ref.path.length === 0) return ctx.scope.index;
  if (ref.root === 'vault' || ref.root === 'item' || ref.root === 'index' || ref.root === 'nodes') {
    throw missing(ref, `'${ref.root}' is not available in this template`);
  }
  if (!Object.hasOwn(ctx.results, ref.root)) throw missing(ref, `no result for node '${ref.root}'`);
  const result = ctx.results[ref.root];
  if (result === undefined) throw missing(ref, `no result for node '${ref.root}'`);
  if (result.status === 'skipped') throw missing(ref, `node '${ref.root}' was skipped (its branch was not taken)`);
  if (result.status === 'failed') throw missing(ref, `node '${ref.root}' failed and has no output`);
  const [field, ...rest] = ref.path;
  if (field === 'usage') {
    if (result.usage === null) throw missing(ref, `node '${ref.root}' has no usage`);
    return walk(ref, result.usage, rest, `${ref.root}.usage`);
  }
  if (field === undefined || field === 'output') return walk(ref, result.output, rest, `${ref.root}.output`);
  throw missing(ref, `'${field}' is not a field of a node result (use output or usage)`);
}
