import { parseTemplate } from './parse-template.js';
import type { TemplateRef } from './types.js';

/** The references of a template, in order of appearance (duplicates kept). Throws TEMPLATE_SYNTAX. */
export function collectRefs(text: string): TemplateRef[] {
  return parseTemplate(text).filter((segment): segment is TemplateRef => segment.kind === 'ref');
}
