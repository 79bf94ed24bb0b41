import { WeftError } from '../errors/weft-error.js';
import { parseTemplate } from './parse-template.js';
import { resolveTemplateRef } from './resolve-template-ref.js';
import type { TemplateContext, TemplateRef } from './types.js';

/**
 * Strings go in as they are; everything else (numbers, booleans, null, objects, arrays) as JSON.
 * A value nested too deep for JSON.stringify (it recurses, and throws RangeError) fails the
 * render with a permanent JSON_TOO_DEEP instead of an internal error retried in vain.
 */
function stringify(value: unknown, ref: TemplateRef): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch (err) {
    if (err instanceof RangeError) throw new WeftError('JSON_TOO_DEEP', `cannot render {{${ref.source}}}: its value nests too deep to write as JSON`);
    throw err;
  }
}

/**
 * Renders a template against the execution input and upstream results. Throws TEMPLATE_SYNTAX
 * on a malformed template and TEMPLATE_MISSING_REF on any reference that does not resolve.
 */
export function renderTemplate(text: string, ctx: TemplateContext): string {
  return parseTemplate(text)
    .map((segment) => (segment.kind === 'literal' ? segment.text : stringify(resolveTemplateRef(segment, ctx), segment)))
    .join('');
}
