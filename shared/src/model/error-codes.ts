/**
 * The one catalog of Weft error codes. The API answers with `code.toLowerCase()`
 * (`INVALID_FLOW` → `invalid_flow`); tests assert codes, never messages.
 */
export type ErrorCategory = 'transient' | 'permanent' | 'dependency';

interface CatalogEntry {
  readonly httpStatus: number;
  readonly category: ErrorCategory;
}

export const errorCatalog = {
  // Request-level (API)
  INVALID_REQUEST: { httpStatus: 400, category: 'permanent' },
  INVALID_JSON: { httpStatus: 400, category: 'permanent' },
  INVALID_FLOW: { httpStatus: 400, category: 'permanent' },
  /** A start's input does not match its flow's inputSchema: nothing was recorded (details: INPUT_SCHEMA_MISMATCH, one per problem). */
  INVALID_INPUT: { httpStatus: 400, category: 'permanent' },
  /** A detail of INVALID_INPUT: one way the input fails the schema, at its path under /input. */
  INPUT_SCHEMA_MISMATCH: { httpStatus: 400, category: 'permanent' },
  UNAUTHORIZED: { httpStatus: 401, category: 'permanent' },
  NOT_FOUND: { httpStatus: 404, category: 'permanent' },
  CONFLICT: { httpStatus: 409, category: 'permanent' },
  /** An Idempotency-Key used again, within its window, with a different request (flow, version, input or budget). */
  IDEMPOTENCY_KEY_REUSED: { httpStatus: 422, category: 'permanent' },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, category: 'permanent' },
  UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, category: 'permanent' },
  /** A request body nests objects and arrays deeper than WEFT_MAX_JSON_DEPTH (or a walker's own bound). */
  JSON_TOO_DEEP: { httpStatus: 400, category: 'permanent' },
  /** A string or key of a request body is longer than WEFT_MAX_STRING_LENGTH. */
  STRING_TOO_LONG: { httpStatus: 400, category: 'permanent' },
  /** Text Postgres cannot store: a NUL character or a lone UTF-16 surrogate, in a body, path, query or header. */
  INVALID_TEXT: { httpStatus: 400, category: 'permanent' },
  RATE_LIMITED: { httpStatus: 429, category: 'transient' },
  /** The workspace has WEFT_WORKSPACE_MAX_IN_FLIGHT executions queued, running or waiting. */
  WORKSPACE_QUOTA_EXCEEDED: { httpStatus: 429, category: 'transient' },
  /** A WebSocket subscribe past WEFT_WS_MAX_SUBSCRIPTIONS_PER_SOCKET or _PER_KEY. */
  SUBSCRIPTION_LIMIT_EXCEEDED: { httpStatus: 429, category: 'transient' },
  /** A long-polled task claim past WEFT_TASK_CLAIMS_WAITING_PER_WORKSPACE open at once on one api instance. */
  TASK_CLAIMS_LIMIT_EXCEEDED: { httpStatus: 429, category: 'transient' },
  /** An event stream's client read too slowly: WEFT_EVENT_STREAM_MAX_BUFFERED_BYTES unsent (WebSocket close 4413, SSE ends). */
  SLOW_CONSUMER: { httpStatus: 429, category: 'transient' },
  /** The workspace holds WEFT_API_KEYS_PER_WORKSPACE keys already: revoke one first. */
  API_KEY_LIMIT_REACHED: { httpStatus: 409, category: 'permanent' },
  /** The workspace holds WEFT_SCHEDULES_PER_WORKSPACE schedules already: delete one first. */
  SCHEDULE_LIMIT_REACHED: { httpStatus: 409, category: 'permanent' },
  /** A schedule's cron fires more often than WEFT_SCHEDULE_MIN_INTERVAL_SECONDS allows. */
  SCHEDULE_INTERVAL_TOO_SHORT: { httpStatus: 400, category: 'permanent' },
  /** The workspace holds WEFT_HOOKS_PER_WORKSPACE inbound webhooks already: delete one first. */
  HOOK_LIMIT_REACHED: { httpStatus: 409, category: 'permanent' },
  /** An inbound webhook call's signature is missing, stale or wrong: nothing was started. */
  HOOK_SIGNATURE_INVALID: { httpStatus: 401, category: 'permanent' },
  DEPENDENCY_UNAVAILABLE: { httpStatus: 503, category: 'dependency' },
  /**
   * Internal, never answered: a node job whose workspace holds WEFT_WORKSPACE_MAX_ACTIVE_NODES
   * slots is deferred (re-delayed without spending an attempt) until a slot frees.
   */
  NODE_DEFERRED: { httpStatus: 429, category: 'dependency' },
  INTERNAL_ERROR: { httpStatus: 500, category: 'transient' },
  /**
   * A statement of a tenant transaction was refused by row-level security or by the tenant role's
   * privileges (SQLSTATE 42501): a repository bug, never a client's. Answered as internal_error.
   */
  TENANT_ISOLATION_VIOLATION: { httpStatus: 500, category: 'permanent' },
  /** The route exists but this deployment cannot serve it yet (e.g. dead-letter replay without an engine hook). */
  NOT_IMPLEMENTED: { httpStatus: 501, category: 'permanent' },

  // Flow validation (details of INVALID_FLOW)
  FLOW_INVALID_SHAPE: { httpStatus: 400, category: 'permanent' },
  FLOW_INVALID_NODE_ID: { httpStatus: 400, category: 'permanent' },
  FLOW_RESERVED_NODE_ID: { httpStatus: 400, category: 'permanent' },
  FLOW_DUPLICATE_NODE_ID: { httpStatus: 400, category: 'permanent' },
  FLOW_UNKNOWN_NODE_TYPE: { httpStatus: 400, category: 'permanent' },
  FLOW_INVALID_NODE_CONFIG: { httpStatus: 400, category: 'permanent' },
  FLOW_DANGLING_EDGE: { httpStatus: 400, category: 'permanent' },
  FLOW_DUPLICATE_EDGE: { httpStatus: 400, category: 'permanent' },
  FLOW_SELF_EDGE: { httpStatus: 400, category: 'permanent' },
  FLOW_CYCLE: { httpStatus: 400, category: 'permanent' },
  FLOW_INVALID_REF: { httpStatus: 400, category: 'permanent' },
  FLOW_CONDITION_EDGE: { httpStatus: 400, category: 'permanent' },
  FLOW_INVALID_OUTPUT: { httpStatus: 400, category: 'permanent' },
  FLOW_INVALID_EXPRESSION: { httpStatus: 400, category: 'permanent' },
  /** inputSchema is not a JSON Schema object, or ajv refuses it (not draft 2020-12, an unknown keyword). */
  FLOW_INVALID_INPUT_SCHEMA: { httpStatus: 400, category: 'permanent' },
  /** inputSchema is more than INPUT_SCHEMA_MAX_BYTES (64 KiB) of JSON. */
  FLOW_INPUT_SCHEMA_TOO_LARGE: { httpStatus: 400, category: 'permanent' },
  /** inputSchema nests deeper than INPUT_SCHEMA_MAX_DEPTH (32). */
  FLOW_INPUT_SCHEMA_TOO_DEEP: { httpStatus: 400, category: 'permanent' },
  /** pattern, patternProperties, format "regex", $id, a $ref outside the schema, or another $schema than 2020-12. */
  FLOW_INPUT_SCHEMA_KEYWORD_REFUSED: { httpStatus: 400, category: 'permanent' },

  // Templates and node execution
  TEMPLATE_SYNTAX: { httpStatus: 400, category: 'permanent' },
  TEMPLATE_MISSING_REF: { httpStatus: 400, category: 'permanent' },
  TRANSFORM_FAILED: { httpStatus: 400, category: 'permanent' },
  /** A JSONata evaluation hit a bound of the deployment (time, depth, size, memory: WEFT_EXPRESSION_*); the message names it. */
  EXPRESSION_LIMIT_EXCEEDED: { httpStatus: 422, category: 'permanent' },
  /** A code node ran past its time (its timeoutMs, or WEFT_CODE_TIMEOUT_MS, within WEFT_CODE_MAX_TIMEOUT_MS). */
  CODE_TIMEOUT: { httpStatus: 422, category: 'permanent' },
  /** A code node's sandbox ran out of its heap (the node's memoryMb). */
  CODE_MEMORY_EXCEEDED: { httpStatus: 422, category: 'permanent' },
  /** A code node recursed past the sandbox's stack. */
  CODE_STACK_EXCEEDED: { httpStatus: 422, category: 'permanent' },
  /** A code node's source threw (or did not compile): message and a stack within the source. */
  CODE_ERROR: { httpStatus: 422, category: 'permanent' },
  /** A code node returned what JSON cannot hold (a function, a BigInt, a cycle, a promise that never settles). */
  CODE_OUTPUT_INVALID: { httpStatus: 422, category: 'permanent' },
  /** A code node returned more than WEFT_CODE_MAX_OUTPUT_BYTES of JSON. */
  CODE_OUTPUT_TOO_LARGE: { httpStatus: 422, category: 'permanent' },
  NODE_TIMEOUT: { httpStatus: 504, category: 'transient' },
  NODE_CANCELLED: { httpStatus: 409, category: 'permanent' },
  UPSTREAM_FAILED: { httpStatus: 409, category: 'permanent' },
  /** A map's `items` did not give a list, or gave more than MAP_MAX_ITEMS. */
  MAP_ITEMS_INVALID: { httpStatus: 400, category: 'permanent' },
  /** A map item failed and the map's onItemError is "fail" (the engine writes it lowercased). */
  MAP_ITEM_FAILED: { httpStatus: 409, category: 'permanent' },

  // LLM providers
  LLM_NO_CREDENTIALS: { httpStatus: 400, category: 'permanent' },
  LLM_UNKNOWN_PROVIDER: { httpStatus: 400, category: 'permanent' },
  LLM_RATE_LIMITED: { httpStatus: 429, category: 'transient' },
  LLM_SERVER_ERROR: { httpStatus: 502, category: 'transient' },
  LLM_TIMEOUT: { httpStatus: 504, category: 'transient' },
  LLM_CONNECTION: { httpStatus: 502, category: 'transient' },
  LLM_BAD_REQUEST: { httpStatus: 400, category: 'permanent' },
  LLM_AUTH: { httpStatus: 401, category: 'permanent' },
  LLM_MODEL_NOT_FOUND: { httpStatus: 404, category: 'permanent' },
  LLM_CONTENT_POLICY: { httpStatus: 400, category: 'permanent' },
  LLM_INVALID_RESPONSE: { httpStatus: 502, category: 'transient' },
  /** The credential's baseUrl resolves to an address the workspace may not reach (cloud metadata: never). */
  LLM_ADDRESS_BLOCKED: { httpStatus: 403, category: 'permanent' },
  /** The answer passed WEFT_LLM_MAX_OUTPUT_BYTES (or its response the cap derived from it): stopped while it arrived. */
  LLM_OUTPUT_TOO_LARGE: { httpStatus: 502, category: 'permanent' },
  /**
   * A node reads an offloaded output (claim check) that neither hot state nor Postgres holds: a
   * reference the engine did not write, or one whose execution was deleted.
   */
  OUTPUT_REF_MISSING: { httpStatus: 410, category: 'permanent' },
  /** The (workspace, provider) circuit is open: re-delayed, not failed. */
  LLM_CIRCUIT_OPEN: { httpStatus: 503, category: 'dependency' },
  /** Weft's own fleet-wide rate limit for (workspace, provider): re-delayed, not failed. */
  PROVIDER_RATE_LIMITED: { httpStatus: 429, category: 'dependency' },
  /** The execution's maxCostUsd was passed: no further LLM node starts. */
  BUDGET_EXCEEDED: { httpStatus: 402, category: 'permanent' },
  /**
   * A start with maxCostUsd on a flow whose LLM node names a model without a price (none in the
   * table, through its alias or not, and no workspace fallback): the budget could not be kept.
   */
  BUDGET_UNPRICED_MODEL: { httpStatus: 400, category: 'permanent' },
  // HTTP node requests (worker/src/http-client)
  HTTP_INVALID_URL: { httpStatus: 400, category: 'permanent' },
  HTTP_ADDRESS_BLOCKED: { httpStatus: 403, category: 'permanent' },
  HTTP_INVALID_REQUEST: { httpStatus: 400, category: 'permanent' },
  HTTP_HOST_NOT_FOUND: { httpStatus: 502, category: 'transient' },
  HTTP_CONNECTION: { httpStatus: 502, category: 'transient' },
  HTTP_TLS: { httpStatus: 502, category: 'permanent' },
  HTTP_INVALID_RESPONSE: { httpStatus: 502, category: 'transient' },
  HTTP_TOO_MANY_REDIRECTS: { httpStatus: 502, category: 'permanent' },
  HTTP_RESPONSE_TOO_LARGE: { httpStatus: 502, category: 'permanent' },
  HTTP_TIMEOUT: { httpStatus: 504, category: 'transient' },
  /** The target answered 4xx (not 429): the request is wrong, retrying cannot help. */
  HTTP_CLIENT_ERROR: { httpStatus: 502, category: 'permanent' },
  HTTP_RATE_LIMITED: { httpStatus: 429, category: 'transient' },
  HTTP_SERVER_ERROR: { httpStatus: 502, category: 'transient' },
  /** The execution was still live after its flow's timeoutMs. */
  EXECUTION_TIMEOUT: { httpStatus: 504, category: 'permanent' },
  /** A wait node's event did not come within its timeoutMs. */
  WAIT_TIMEOUT: { httpStatus: 504, category: 'permanent' },
  /** A resume brought no token, or the wrong one, for a waiting node. */
  RESUME_TOKEN_INVALID: { httpStatus: 403, category: 'permanent' },
  /** A resume link whose signature does not hold (forged, altered, another deployment's), or whose execution is gone. */
  RESUME_LINK_INVALID: { httpStatus: 404, category: 'permanent' },
  /** A resume link already used: it resumes its wait once. */
  RESUME_LINK_USED: { httpStatus: 409, category: 'permanent' },
  /** A resume link past its expiry (the wait's timeout, or WEFT_RESUME_LINK_TTL_SECONDS). */
  RESUME_LINK_EXPIRED: { httpStatus: 410, category: 'permanent' },

  // External tasks (task nodes, /v1/tasks)
  /** A worker reported a failure (`POST /v1/tasks/:id/fail`); its own code is in the message and details. */
  TASK_FAILED: { httpStatus: 502, category: 'permanent' },
  /** A worker reported a retryable failure: the node's retry policy decides. */
  TASK_FAILED_RETRYABLE: { httpStatus: 502, category: 'transient' },
  /** No heartbeat within the task's heartbeatTimeoutMs: as a retry (`node.retrying`), or the node's failure once its attempts are spent. */
  TASK_LEASE_EXPIRED: { httpStatus: 504, category: 'transient' },
  /** The caller no longer holds the task's lease: it lapsed and another attempt claimed it, or the task ended. */
  TASK_LEASE_LOST: { httpStatus: 409, category: 'permanent' },
  /** The task's node no longer waits for it: its execution was cancelled or ended, or the node timed out. */
  TASK_CANCELLED: { httpStatus: 409, category: 'permanent' },
  /** A checkpoint over WEFT_TASK_CHECKPOINT_MAX_BYTES. */
  TASK_CHECKPOINT_TOO_LARGE: { httpStatus: 413, category: 'permanent' },
  /** A claim named a handler the worker token is not scoped to. */
  TASK_HANDLER_NOT_ALLOWED: { httpStatus: 403, category: 'permanent' },
  /** The workspace holds WEFT_WORKER_TOKENS_PER_WORKSPACE worker tokens already: revoke one first. */
  WORKER_TOKEN_LIMIT_REACHED: { httpStatus: 409, category: 'permanent' },

  // Engine
  /** A workspace deletion waits for jobs of its executions still running: its job is re-delayed. */
  WORKSPACE_DELETION_PENDING: { httpStatus: 503, category: 'dependency' },
  EXECUTION_NOT_VISIBLE: { httpStatus: 503, category: 'transient' },
  EXECUTION_STATE_MISSING: { httpStatus: 503, category: 'transient' },
  FLOW_VERSION_NOT_FOUND: { httpStatus: 404, category: 'permanent' },
  CONFIG_INVALID: { httpStatus: 500, category: 'permanent' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorCatalog, value);
}

/** A code as it is stored and sent: the catalog's code lowercased (`NODE_TIMEOUT` → `node_timeout`). */
export type StoredErrorCode = Lowercase<ErrorCode>;

/** The stored form of a catalog code. */
export function storedCode(code: ErrorCode): StoredErrorCode {
  return code.toLowerCase() as StoredErrorCode;
}

/** The catalog code of a stored one, or undefined when it is not in the catalog. */
export function catalogCode(stored: string): ErrorCode | undefined {
  const upper = stored.toUpperCase();
  return isErrorCode(upper) ? upper : undefined;
}
