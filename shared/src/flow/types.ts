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

export type FlowNode = LlmNode | TransformNode;
export type NodeType = FlowNode['type'];
export const NODE_TYPES: readonly NodeType[] = ['llm', 'transform'];

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
}

export const NODE_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const RESERVED_NODE_IDS: ReadonlySet<string> = new Set(['input', 'vault', 'item', 'index', 'nodes']);
