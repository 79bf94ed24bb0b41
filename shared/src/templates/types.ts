import type { Usage } from '../engine/types.js';

export interface TemplateLiteral {
  kind: 'literal';
  text: string;
}

/** `{{root.path.0.x}}`: root is `input`, `vault`, `item`, `index` or a node id. */
export interface TemplateRef {
  kind: 'ref';
  root: string;
  /** Path segments after the root; array indices stay strings (`'0'`). */
  path: string[];
  /** The reference as written between the braces, trimmed (`summary.output`). */
  source: string;
  /** Offset of the opening `{{` in the template text. */
  offset: number;
}

export type TemplateSegment = TemplateLiteral | TemplateRef;

export interface TemplateNodeResult {
  output: unknown;
  usage: Usage | null;
}

export interface TemplateContext {
  input: unknown;
  /** Results of upstream nodes by id; a NodeResult fits. */
  results: Readonly<Record<string, TemplateNodeResult>>;
}

/** Keys of `{{node.usage.<key>}}`. */
export const USAGE_KEYS = ['promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'totalTokens'] as const satisfies readonly (keyof Usage)[];
