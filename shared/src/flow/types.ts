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

/**
 * Runs `source`, the body of a JavaScript function over `{input, nodes, item?, index?}` (async
 * allowed), in a QuickJS sandbox bounded by `timeoutMs` (common), `memoryMb` and a fixed stack;
 * output: the value it returns (JSON).
 */
export interface CodeNode extends NodeBase {
  type: 'code';
  source: string;
  /** The sandbox's heap; default CODE_DEFAULT_MEMORY_MB, at most the deployment's WEFT_CODE_MAX_MEMORY_MB. */
  memoryMb?: number;
}

export const CODE_DEFAULT_MEMORY_MB = 64;
/** Longest `source`, in UTF-16 units. */
export const CODE_SOURCE_MAX_LENGTH = 65_536;

/**
 * Work done by an external worker (any language, over HTTP): queued per (workspace, `handler`),
 * claimed with a worker token, leased and heartbeated; the node waits until the worker
 * completes or fails it (architecture.md, "External tasks").
 */
export interface TaskNode extends NodeBase {
  type: 'task';
  handler: string;
  /** Any JSON whose string leaves are templates. */
  input?: unknown;
  /** Default TASK_DEFAULT_HEARTBEAT_TIMEOUT_MS. */
  heartbeatTimeoutMs?: number;
  /** Names of the workspace secrets handed to the worker that claims it. */
  secrets?: string[];
  queue?: string;
}

/** Handler names and queue labels: dotted identifiers, e.g. `image.resize`, `gpu-eu`. */
export const TASK_HANDLER_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
export const TASK_DEFAULT_HEARTBEAT_TIMEOUT_MS = 60_000;
export const TASK_MAX_SECRETS = 20;

export interface FlowEdge {
  from: string;
  to: string;
  when?: unknown;
  default?: boolean;
}

/** Items allowed inside a map's sub-graph: no nested map. */
export type MapItemNode = LlmNode | TransformNode | ConditionNode | SwitchNode | HttpNode | WaitNode | CodeNode;
export const MAP_ITEM_NODE_TYPES: readonly MapItemNode['type'][] = ['llm', 'transform', 'condition', 'switch', 'http', 'wait', 'code'];

export interface MapGraph {
  nodes: MapItemNode[];
  /** May be omitted when posted (none); validateFlow fills in `[]`. */
  edges: FlowEdge[];
}

export const MAP_DEFAULT_CONCURRENCY = 10;
export const MAP_MAX_CONCURRENCY = 1000;
/** Most items one map may expand; a runtime limit (the list is only known then), enforced by the worker. */
export const MAP_MAX_ITEMS = 10_000;

/**
 * Runs `graph` once per element of `items`, at most `concurrency` items at once, as node jobs
 * across the fleet; output: the list of `output`'s outputs in input order.
 */
export interface MapNode extends NodeBase {
  type: 'map';
  /** A single `{{ref}}` to a list (e.g. `{{fetch.output.rows}}`, `{{input.docs}}`), or a JSONata expression over `{input, nodes}` giving a list. */
  items: string;
  /** Items in flight at once; default MAP_DEFAULT_CONCURRENCY (10), 1..MAP_MAX_CONCURRENCY (1000). */
  concurrency?: number;
  graph: MapGraph;
  /** The sub-graph node whose output fills each slot; default: the sub-graph's only leaf. */
  output?: string;
  /** "fail" (default): one failed item fails the map. "continue": that slot holds `{error}` and the others go on. */
  onItemError?: 'fail' | 'continue';
}

export type FlowNode = LlmNode | TransformNode | ConditionNode | SwitchNode | HttpNode | MapNode | WaitNode | CodeNode | TaskNode;
export type NodeType = FlowNode['type'];
/** The node of one type. */
export type NodeOfType<T extends NodeType> = Extract<FlowNode, { type: T }>;
/**
 * Types the engine runs itself (a map expands into item jobs, a wait suspends, a task is queued
 * for external workers): no executor.
 */
export type EngineNodeType = 'map' | 'wait' | 'task';
export const ENGINE_NODE_TYPES: readonly EngineNodeType[] = ['map', 'wait', 'task'];
/** Types a worker runs with an executor (worker/src/nodes). */
export type ExecutorNodeType = Exclude<NodeType, EngineNodeType>;
export const NODE_TYPES: readonly NodeType[] = ['llm', 'transform', 'condition', 'switch', 'http', 'map', 'wait', 'code', 'task'];

export interface FlowDefinition {
  name: string;
  nodes: FlowNode[];
  edges: FlowEdge[];
  /** A node id whose output is the execution's output; default: all leaf nodes keyed by id. */
  output?: string;
  /** An execution still live after this long fails (execution_timeout); what runs is aborted. */
  timeoutMs?: number;
  /** A JSON Schema (draft 2020-12, bounded: input-schema.ts) every start's input must match. */
  inputSchema?: Record<string, unknown>;
}

export const NODE_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const RESERVED_NODE_IDS: ReadonlySet<string> = new Set(['input', 'vault', 'item', 'index', 'nodes']);
