/** Flow definition types: the JSON a user posts (architecture.md, "Flow definition"). */

export const LLM_PROVIDERS = ['openai', 'anthropic', 'gemini', 'openai-compatible'] as const;
export type LlmProviderName = (typeof LLM_PROVIDERS)[number];

export interface BackoffPolicy {
  type: 'fixed' | 'exponential';
  delayMs: number;
}

export interface RetryPolicy {
  attempts: number;
  backoff?: BackoffPolicy;
}

interface NodeBase {
  id: string;
  retry?: RetryPolicy;
  timeoutMs?: number;
  onError?: 'fail' | 'continue';
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface LlmNode extends NodeBase {
  type: 'llm';
  provider: LlmProviderName;
  model: string;
  system?: string;
  prompt?: string;
  messages?: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  stream?: boolean;
  responseFormat?: 'text' | 'json';
}

export interface TransformNode extends NodeBase {
  type: 'transform';
  expression: string;
}

/** Out-edges carry `"when": true` or `"when": false`; output: the expression's truthiness. */
export interface ConditionNode extends NodeBase {
  type: 'condition';
  expression: string;
}

/** Out-edges carry `"when": <value>` or `"default": true`; output: the expression's value. */
export interface SwitchNode extends NodeBase {
  type: 'switch';
  expression: string;
}

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** An outbound HTTP request; `timeoutMs` (common) bounds the whole exchange. */
export interface HttpNode extends NodeBase {
  type: 'http';
  method: HttpMethod;
  /** Templated; http or https only. */
  url: string;
  /** Values templated; `{{vault.NAME}}` allowed (as in url and body). */
  headers?: Record<string, string>;
  /** A templated string sent as is, or a JSON value whose string leaves are templated, sent as JSON. */
  body?: unknown;
}

/**
 * Pauses its branch: for `durationMs`, until `until` (ISO time), or until the api resumes it
 * (`event`: approval, or webhook with a token). `timeoutMs` (common) bounds an event wait.
 */
export interface WaitNode extends NodeBase {
  type: 'wait';
  durationMs?: number;
  until?: string;
  event?: 'approval' | 'webhook';
}

export type FlowNode = LlmNode | TransformNode | ConditionNode | SwitchNode | HttpNode | WaitNode;
export type NodeType = FlowNode['type'];
export const NODE_TYPES: readonly NodeType[] = ['llm', 'transform', 'condition', 'switch', 'http', 'wait'];

export interface FlowEdge {
  from: string;
  to: string;
  when?: unknown;
  default?: boolean;
}

export interface FlowDefinition {
  name: string;
  nodes: FlowNode[];
  edges: FlowEdge[];
  /** A node id whose output is the execution's output; default: all leaf nodes keyed by id. */
  output?: string;
  /** An execution still live after this long fails (execution_timeout); what runs is aborted. */
  timeoutMs?: number;
}

export const NODE_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const RESERVED_NODE_IDS: ReadonlySet<string> = new Set(['input', 'vault', 'item', 'index', 'nodes']);
