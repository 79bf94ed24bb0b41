import { parseTemplate } from './parse-template.js';
import { renderTemplate } from './render-template.js';
import { resolveTemplateRef } from './resolve-template-ref.js';
import type { TemplateContext } from './types.js';

/**
 * Like renderTemplate, except that a template that is exactly one reference and nothing else
 * (`"{{input.n}}"`) yields the referenced value itself, keeping its JSON type: a number stays a
 * number, an object an object. Used for the string leaves of JSON bodies.
 */
export function renderTemplateValue(text: string, ctx: TemplateContext): unknown {
  const segments = parseTemplate(text);
  const [only] = segments;
  if (segments.length === 1 && only?.kind === 'ref') return resolveTemplateRef(only, ctx);
  return renderTemplate(text, ctx);
}
