import type { Usage } from '../model/index.js';

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
  /** A skipped node (or one that failed softly) has no output a template could use. */
  status?: 'completed' | 'failed' | 'skipped' | 'cancelled';
}

export interface TemplateContext {
  input: unknown;
  /** Results of upstream nodes by id; a NodeResult fits. */
  results: Readonly<Record<string, TemplateNodeResult>>;
  /**
   * Workspace secrets by name for `{{vault.NAME}}` (http nodes only). Absent: vault references
   * fail. Render with SECRET_PLACEHOLDER values to get a copy that is safe to store.
   */
  vault?: Readonly<Record<string, string>>;
  /** Inside a map's sub-graph: the item (`{{item}}`, `{{item.x}}`) and its index (`{{index}}`). */
  scope?: MapItemScope;
}

export interface MapItemScope {
  item: unknown;
  index: number;
}

/** Names of workspace secrets (`PUT /v1/secrets/:name`, `{{vault.NAME}}`). */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** What stands in for a secret's value wherever a rendered template is stored or shown. */
export const SECRET_PLACEHOLDER = '[secret]';

/** Keys of `{{node.usage.<key>}}`. */
export const USAGE_KEYS = ['promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'totalTokens'] as const satisfies readonly (keyof Usage)[];
