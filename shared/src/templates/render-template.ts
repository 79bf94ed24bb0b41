import { parseTemplate } from './parse-template.js';
import { resolveTemplateRef } from './resolve-template-ref.js';
import type { TemplateContext } from './types.js';

/** Strings go in as they are; everything else (numbers, booleans, null, objects, arrays) as JSON. */
function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

/**
 * Renders a template against the execution input and upstream results. Throws TEMPLATE_SYNTAX
 * on a malformed template and TEMPLATE_MISSING_REF on any reference that does not resolve.
 */
export function renderTemplate(text: string, ctx: TemplateContext): string {
  return parseTemplate(text)
    .map((segment) => (segment.kind === 'literal' ? segment.text : stringify(resolveTemplateRef(segment, ctx))))
    .join('');
}
