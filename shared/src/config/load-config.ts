/**
 * The only reader of process.env. Parses every variable at once and reports all the bad
 * ones in one error, each line naming the variable.
 */
import { hostname } from 'node:os';
import type { FlowLimits } from '../flow/node-type-spec.js';
import { NODE_TYPES, type LlmProviderName, type NodeType } from '../flow/types.js';
import { CLAIM_CHECK_DEFAULT_BYTES } from '../engine/output-ref.js';

export type Role = 'api' | 'worker' | 'all';
export type Mode = 'embedded' | 'distributed';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface WeftConfig {
  role: Role;
  mode: Mode;
  host: string;
  port: number;
  /** One URL; with `redisCluster`, a comma-separated list of cluster seed URLs. */
  redisUrl: string | null;
  /** REDIS_CLUSTER: REDIS_URL names Redis Cluster nodes, and every connection is a cluster client. */
  redisCluster: boolean;
  /**
   * WEFT_QUEUE_SHARDS: shards of each execution-scoped queue and of the flush log, each under a
   * hash tag of its own (a cluster spreads them over its masters). 1 keeps one slot for all.
   */
  queueShards: number;
  databaseUrl: string | null;
  /** Embedded mode: PGlite data, generated admin token and master key live here. */
  dataDir: string;
  adminToken: string | null;
  /** 32-byte AES-256 key; null until generated (embedded) — required in distributed mode. */
  masterKey: Buffer | null;
  /** The version rows sealed with the master key carry: 1, or what `rotate-master-key` printed. */
  masterKeyVersion: number;
  /**
   * How long a running job stays locked without renewal, and how often workers look for jobs
   * of dead workers (BullMQ lockDuration, stalledInterval): a killed worker's jobs run again
   * elsewhere after about this long.
   */
  queueLockMs: number;
  queueStalledIntervalMs: number;
  workerConcurrency: number;
  /**
   * The node types this worker runs (WEFT_WORKER_NODE_TYPES; default every type): it consumes only
   * their node queues, and runs only them eagerly. The engine's own queues run on every worker.
   */
  workerNodeTypes: readonly NodeType[];
  /** The pool's name in metrics (WEFT_WORKER_POOL; default `all`, or the types joined by `_`). */
  workerPool: string;
  workerPort: number;
  workerId: string;
  logLevel: LogLevel;
  /** Prefix of every Redis key (and, braced, of the BullMQ queues). */
  keyPrefix: string;
  shutdownGraceMs: number;
  /** Run a child a commit made ready at once on the committing worker (run-engine/eager-dispatch.ts). */
  eagerDispatch: boolean;
  /** Seconds hot state is kept after the final state reached Postgres. */
  hotStateTtlSeconds: number;
  /** How long the flusher waits for more entries after a read that brought less than a batch (worker/src/flush/flusher.ts). */
  flushLingerMs: number;
  /** Start the local mock provider for workspaces without credentials (embedded default: true). */
  mockProvider: boolean;
  bodyLimitBytes: number;
  /** Largest LLM answer (UTF-8 bytes of its text): a longer one fails LLM_OUTPUT_TOO_LARGE while it arrives. */
  llmMaxOutputBytes: number;
  /** `maxTokens` of an LLM node that sets none. */
  llmDefaultMaxTokens: number;
  /** Largest (decoded) HTTP node response body: a larger one fails HTTP_RESPONSE_TOO_LARGE while it arrives. */
  httpMaxResponseBytes: number;
  /** WEFT_CLAIM_CHECK_BYTES: a node output (or resolved input) whose JSON is larger is stored apart and referenced. */
  claimCheckBytes: number;
  /** Longest message of a node's error (redacted, then cut): a target's body never rides in one whole. */
  nodeErrorMaxChars: number;
  /**
   * The api's address as clients reach it (WEFT_PUBLIC_URL), without a trailing slash: absolute
   * URLs Weft hands out (resume links) start with it. Default: the listen address.
   */
  publicUrl: string;
  /** How long the resume link of a wait without timeoutMs stays valid. */
  resumeLinkTtlSeconds: number;
  /**
   * How long an api instance trusts a cached API key without asking Postgres (0: no cache). A
   * revocation reaches every instance at once over the control bus; this bounds a lost message.
   */
  apiKeyCacheTtlMs: number;
  /** Keys one api instance caches at most (least recently used go first). */
  apiKeyCacheMax: number;
  /** API keys one workspace may hold at once (409 api_key_limit_reached beyond). */
  apiKeysPerWorkspace: number;
  /** Worker tokens one workspace may hold at once (409 worker_token_limit_reached beyond). */
  workerTokensPerWorkspace: number;
  /** Largest checkpoint of an external task, in bytes of JSON (413 task_checkpoint_too_large beyond). */
  taskCheckpointMaxBytes: number;
  /** Longest long poll of `POST /v1/tasks/claim` (its `waitMs` is capped to it). */
  taskClaimMaxWaitMs: number;
  /** Long-polled claims one workspace may hold open at once on one api instance (429 task_claims_limit_exceeded past it). */
  taskClaimsWaitingPerWorkspace: number;
  /**
   * How often a long-polled claim looks again without a notification: only the safety net for a
   * lost one (a claim wakes on the task-wakeup notification of a queued task).
   */
  taskClaimPollIntervalMs: number;
  /** How often each worker looks for lapsed task leases and puts them through the node's retry policy. */
  taskLeaseSweepIntervalMs: number;
  /**
   * How long a worker trusts a cached provider client (its credential and egress policy) without
   * asking Postgres again (0: no cache, every call reads). A change reaches every worker at once
   * over the control bus; this bounds a lost message.
   */
  providerClientCacheTtlMs: number;
  /** Provider clients, one per (workspace, provider), a worker keeps at most (least recently used go first). */
  providerClientCacheSize: number;
  /** Deepest nesting of objects and arrays a request body may have (400 json_too_deep). */
  jsonMaxDepth: number;
  /** Longest string (value or key, in UTF-16 code units) a request body may hold (400 string_too_long). */
  jsonMaxStringLength: number;
  /** Origins allowed to call the api from a browser (CORS); empty: CORS off, no header is sent. */
  corsOrigins: string[];
  /** Bounds of every JSONata evaluation, and the threads that run them (docs/architecture.md, "Expression limits"). */
  expressions: { timeoutMs: number; maxDepth: number; maxBytes: number; memoryMb: number; threads: number };
  /** Bounds of code nodes' QuickJS sandboxes, and the threads that run them (docs/architecture.md, "Code node sandbox"). */
  code: CodeSandboxConfig;
  /** How often each worker sweeps for executions stuck in queued, and how old they must be. */
  sweepIntervalMs: number;
  sweepMinAgeMs: number;
  /** Use OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY when a workspace has no credential. */
  allowEnvKeys: boolean;
  /** Provider keys from the environment, read here only (never logged). */
  envProviderKeys: Partial<Record<LlmProviderName, string>>;
  breaker: { errorThresholdPercentage: number; volumeThreshold: number; resetTimeoutMs: number; rollingWindowMs: number };
  /** Fleet-wide limits applied to every (workspace, provider); absent = unlimited. */
  providerRateLimits: Partial<Record<string, ProviderRateLimit>>;
  /** Tenant quotas (architecture.md, "Quotas"); 0 turns a limit off. */
  quotas: QuotaConfig;
  /** Bounds of schedules and inbound webhooks (architecture.md, "Triggers"). */
  triggers: TriggerConfig;
  /**
   * The api's Redis commands (start path, rate limits): each gives up after this long, and
   * none waits for a reconnect, so an outage answers 503 at once.
   */
  apiRedisCommandTimeoutMs: number;
}

export interface CodeSandboxConfig {
  /** Time of a code node that sets no timeoutMs. */
  defaultTimeoutMs: number;
  /** Largest timeoutMs a code node may set (a flow asking more is refused). */
  maxTimeoutMs: number;
  /** Largest memoryMb a code node may set (a flow asking more is refused). */
  maxMemoryMb: number;
  /** Largest returned value, in bytes of JSON (UTF-8). */
  maxOutputBytes: number;
  /** Console output kept per run, in bytes (UTF-8); the rest is dropped, and the cut is marked. */
  maxLogBytes: number;
  /** Worker threads that run sandboxes; runs beyond them wait their turn (their time counts). */
  threads: number;
}

export interface TriggerConfig {
  /** Schedules one workspace may hold at once (409 schedule_limit_reached beyond). */
  schedulesPerWorkspace: number;
  /** Shortest time between two ticks of a schedule's cron (400 schedule_interval_too_short). */
  scheduleMinIntervalSeconds: number;
  /** Inbound webhooks one workspace may hold at once (409 hook_limit_reached beyond). */
  hooksPerWorkspace: number;
}

export interface QuotaConfig {
  /** Requests per API key per window (every `/v1/` route with a workspace key). */
  rateLimitPerKey: number;
  /** Requests per workspace per window, whatever the number of its keys. */
  rateLimitPerWorkspace: number;
  rateLimitWindowMs: number;
  /** Executions of one workspace queued, running or waiting at once. */
  workspaceMaxInFlight: number;
  /** Node jobs of one workspace running at once across the fleet (fairness); 0: no cap. */
  workspaceMaxActiveNodes: number;
  /** WebSocket subscriptions held by one socket, and by all sockets of one API key (per api instance). */
  wsMaxSubscriptionsPerSocket: number;
  wsMaxSubscriptionsPerKey: number;
  /** Bytes an event stream (WebSocket or SSE) may hold unsent before it is closed as a slow consumer. */
  eventStreamMaxBufferedBytes: number;
}

export interface ProviderRateLimit {
  requestsPerSecond?: number;
  requestsPerMinute?: number;
  maxConcurrent?: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Every provider the configuration knows (WEFT_PROVIDER_RATE_LIMITS keys), with the variable
 * holding its key for WEFT_ALLOW_ENV_KEYS: none for openai-compatible, which names no one
 * service. Typed so that a new provider is a compile error here until it is listed.
 */
const PROVIDER_KEY_VARIABLES = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  gemini: 'GEMINI_API_KEY',
  'openai-compatible': null,
} as const satisfies Record<LlmProviderName, string | null>;

function isProviderName(name: string): name is LlmProviderName {
  return Object.hasOwn(PROVIDER_KEY_VARIABLES, name);
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env, role: Role = 'all'): WeftConfig {
  const problems: string[] = [];
  const str = (name: string): string | null => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? null : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: must be an integer from ${min} to ${max}, got '${raw}'`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name);
    if (raw === null) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    problems.push(`${name}: must be true or false, got '${raw}'`);
    return fallback;
  };
  const url = (name: string, protocols: string[]): string | null => {
    const raw = str(name);
    if (raw === null) return null;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) {
        problems.push(`${name}: must be a ${protocols.join(' or ')} URL, got '${u.protocol}'`);
        return null;
      }
      return raw;
    } catch {
      problems.push(`${name}: not a valid URL`);
      return null;
    }
  };

  const redisCluster = bool('REDIS_CLUSTER', false);
  // A cluster client needs one seed node and finds the rest; several seeds survive one being down.
  const urlList = (name: string, protocols: string[]): string | null => {
    const raw = str(name);
    if (raw === null) return null;
    const parts = raw.split(',').map((part) => part.trim());
    for (const part of parts) {
      try {
        const u = new URL(part);
        if (!protocols.includes(u.protocol)) {
          problems.push(`${name}: must be ${protocols.join(' or ')} URLs, got '${u.protocol}'`);
          return null;
        }
      } catch {
        problems.push(`${name}: not a comma-separated list of valid URLs`);
        return null;
      }
    }
    return parts.join(',');
  };
  const redisUrl = redisCluster ? urlList('REDIS_URL', ['redis:', 'rediss:']) : url('REDIS_URL', ['redis:', 'rediss:']);
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisGiven = str('REDIS_URL') !== null;
  const dbGiven = str('DATABASE_URL') !== null;
  const mode: Mode = redisGiven || dbGiven ? 'distributed' : 'embedded';
  if (mode === 'distributed' && redisGiven !== dbGiven) {
    problems.push(`${redisGiven ? 'DATABASE_URL' : 'REDIS_URL'}: required when ${redisGiven ? 'REDIS_URL' : 'DATABASE_URL'} is set (set both for distributed mode, neither for embedded mode)`);
  }
  if (mode === 'embedded' && role !== 'all') {
    problems.push(`REDIS_URL: required to run the ${role} alone (embedded mode runs api and worker in one process: npm start)`);
  }

  let masterKey: Buffer | null = null;
  const rawKey = str('WEFT_MASTER_KEY');
  if (rawKey !== null) {
    const buf = Buffer.from(rawKey, 'base64');
    if (buf.length !== 32 || buf.toString('base64').replace(/=+$/, '') !== rawKey.replace(/=+$/, '')) {
      problems.push('WEFT_MASTER_KEY: must be 32 bytes, base64-encoded (openssl rand -base64 32)');
    } else {
      masterKey = buf;
    }
  } else if (mode === 'distributed') {
    problems.push('WEFT_MASTER_KEY: required in distributed mode (32 bytes, base64: openssl rand -base64 32)');
  }

  const adminToken = str('WEFT_ADMIN_TOKEN');
  if (adminToken !== null && adminToken.length < 16) problems.push('WEFT_ADMIN_TOKEN: must be at least 16 characters');
  if (adminToken === null && mode === 'distributed' && role !== 'worker') {
    problems.push('WEFT_ADMIN_TOKEN: required for the api in distributed mode (at least 16 characters)');
  }

  const logLevelRaw = (str('LOG_LEVEL') ?? 'info').toLowerCase();
  let logLevel: LogLevel = 'info';
  if ((LOG_LEVELS as readonly string[]).includes(logLevelRaw)) logLevel = logLevelRaw as LogLevel;
  else problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}, got '${logLevelRaw}'`);

  const keyPrefix = str('WEFT_REDIS_PREFIX') ?? 'weft';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(keyPrefix)) problems.push('WEFT_REDIS_PREFIX: letters, digits, _ and - only (1-32)');

  const host = str('HOST') ?? (mode === 'embedded' ? '127.0.0.1' : '0.0.0.0');
  const port = int('PORT', 3000, 0, 65535);
  const config: WeftConfig = {
    role,
    mode,
    host,
    port,
    redisUrl,
    redisCluster,
    queueShards: int('WEFT_QUEUE_SHARDS', 1, 1, 256),
    databaseUrl,
    dataDir: str('WEFT_DATA_DIR') ?? './.weft',
    adminToken,
    masterKey,
    masterKeyVersion: int('WEFT_MASTER_KEY_VERSION', 1, 1, 1_000_000),
    queueLockMs: int('WEFT_QUEUE_LOCK_MS', 30_000, 1000, 3_600_000),
    queueStalledIntervalMs: int('WEFT_QUEUE_STALLED_INTERVAL_MS', 30_000, 500, 3_600_000),
    workerConcurrency: int('WORKER_CONCURRENCY', 10, 1, 1000),
    ...workerPool(str('WEFT_WORKER_NODE_TYPES'), str('WEFT_WORKER_POOL'), problems),
    workerPort: int('WORKER_PORT', 3001, 0, 65535),
    workerId: str('WORKER_ID') ?? `${hostname()}-${process.pid}`,
    logLevel,
    keyPrefix,
    shutdownGraceMs: int('SHUTDOWN_GRACE_MS', 25_000, 0, 3_600_000),
    eagerDispatch: bool('WEFT_EAGER_DISPATCH', true),
    hotStateTtlSeconds: int('WEFT_HOT_STATE_TTL_SECONDS', 3600, 1, 30 * 86400),
    flushLingerMs: int('WEFT_FLUSH_LINGER_MS', 5, 0, 1000),
    mockProvider: bool('WEFT_MOCK_PROVIDER', mode === 'embedded'),
    bodyLimitBytes: int('WEFT_BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    llmMaxOutputBytes: int('WEFT_LLM_MAX_OUTPUT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    llmDefaultMaxTokens: int('WEFT_LLM_DEFAULT_MAX_TOKENS', 4096, 1, 1_000_000),
    httpMaxResponseBytes: int('WEFT_HTTP_MAX_RESPONSE_BYTES', 10 * 1_048_576, 1024, 1024 * 1_048_576),
    claimCheckBytes: int('WEFT_CLAIM_CHECK_BYTES', CLAIM_CHECK_DEFAULT_BYTES, 1024, 1024 * 1_048_576),
    nodeErrorMaxChars: int('WEFT_NODE_ERROR_MAX_CHARS', 1000, 200, 100_000),
    publicUrl: (url('WEFT_PUBLIC_URL', ['http:', 'https:']) ?? listenUrl(host, port)).replace(/\/+$/, ''),
    resumeLinkTtlSeconds: int('WEFT_RESUME_LINK_TTL_SECONDS', 7 * 86_400, 1, 365 * 86_400),
    apiKeyCacheTtlMs: int('WEFT_API_KEY_CACHE_TTL_MS', 60_000, 0, 3_600_000),
    apiKeyCacheMax: int('WEFT_API_KEY_CACHE_MAX', 10_000, 1, 1_000_000),
    apiKeysPerWorkspace: int('WEFT_API_KEYS_PER_WORKSPACE', 100, 1, 10_000),
    workerTokensPerWorkspace: int('WEFT_WORKER_TOKENS_PER_WORKSPACE', 100, 1, 10_000),
    taskCheckpointMaxBytes: int('WEFT_TASK_CHECKPOINT_MAX_BYTES', 65_536, 256, 16 * 1_048_576),
    taskClaimMaxWaitMs: int('WEFT_TASK_CLAIM_MAX_WAIT_MS', 30_000, 0, 120_000),
    taskClaimsWaitingPerWorkspace: int('WEFT_TASK_CLAIMS_WAITING_PER_WORKSPACE', 100, 1, 100_000),
    taskClaimPollIntervalMs: int('WEFT_TASK_CLAIM_POLL_MS', 5000, 100, 600_000),
    taskLeaseSweepIntervalMs: int('WEFT_TASK_LEASE_SWEEP_MS', 1000, 100, 60_000),
    providerClientCacheTtlMs: int('WEFT_PROVIDER_CLIENT_CACHE_TTL_MS', 60_000, 0, 3_600_000),
    providerClientCacheSize: int('WEFT_PROVIDER_CLIENT_CACHE_SIZE', 1000, 1, 1_000_000),
    jsonMaxDepth: int('WEFT_MAX_JSON_DEPTH', 64, 8, 1000),
    jsonMaxStringLength: int('WEFT_MAX_STRING_LENGTH', 262_144, 256, 100 * 1_048_576),
    corsOrigins: parseCorsOrigins(str('WEFT_CORS_ORIGINS'), problems),
    expressions: {
      timeoutMs: int('WEFT_EXPRESSION_TIMEOUT_MS', 1000, 10, 600_000),
      maxDepth: int('WEFT_EXPRESSION_MAX_DEPTH', 200, 20, 100_000),
      maxBytes: int('WEFT_EXPRESSION_MAX_BYTES', 10 * 1_048_576, 1024, 256 * 1_048_576),
      memoryMb: int('WEFT_EXPRESSION_MEMORY_MB', 128, 16, 16_384),
      threads: int('WEFT_EXPRESSION_THREADS', 2, 1, 64),
    },
    code: {
      defaultTimeoutMs: int('WEFT_CODE_TIMEOUT_MS', 5000, 10, 3_600_000),
      maxTimeoutMs: int('WEFT_CODE_MAX_TIMEOUT_MS', 60_000, 10, 3_600_000),
      maxMemoryMb: int('WEFT_CODE_MAX_MEMORY_MB', 512, 8, 4096),
      maxOutputBytes: int('WEFT_CODE_MAX_OUTPUT_BYTES', 1_048_576, 1024, 256 * 1_048_576),
      maxLogBytes: int('WEFT_CODE_MAX_LOG_BYTES', 65_536, 0, 16 * 1_048_576),
      threads: int('WEFT_CODE_THREADS', 2, 1, 64),
    },
    sweepIntervalMs: int('WEFT_SWEEP_INTERVAL_MS', 30_000, 100, 3_600_000),
    sweepMinAgeMs: int('WEFT_SWEEP_MIN_AGE_MS', 30_000, 100, 86_400_000),
    allowEnvKeys: bool('WEFT_ALLOW_ENV_KEYS', false),
    envProviderKeys: Object.fromEntries(
      (Object.entries(PROVIDER_KEY_VARIABLES) as Array<[LlmProviderName, string | null]>)
        .map(([provider, name]) => [provider, name === null ? null : str(name)] as const)
        .filter((e): e is readonly [LlmProviderName, string] => e[1] !== null),
    ),
    breaker: {
      errorThresholdPercentage: int('WEFT_BREAKER_ERROR_PERCENT', 50, 1, 100),
      volumeThreshold: int('WEFT_BREAKER_MIN_REQUESTS', 10, 1, 100_000),
      resetTimeoutMs: int('WEFT_BREAKER_RESET_MS', 30_000, 100, 3_600_000),
      rollingWindowMs: int('WEFT_BREAKER_WINDOW_MS', 60_000, 1000, 3_600_000),
    },
    providerRateLimits: parseRateLimits(str('WEFT_PROVIDER_RATE_LIMITS'), problems),
    quotas: {
      rateLimitPerKey: int('WEFT_RATE_LIMIT_PER_KEY', 6000, 0, 100_000_000),
      rateLimitPerWorkspace: int('WEFT_RATE_LIMIT_PER_WORKSPACE', 12_000, 0, 100_000_000),
      rateLimitWindowMs: int('WEFT_RATE_LIMIT_WINDOW_MS', 60_000, 100, 86_400_000),
      workspaceMaxInFlight: int('WEFT_WORKSPACE_MAX_IN_FLIGHT', 1000, 0, 10_000_000),
      workspaceMaxActiveNodes: int('WEFT_WORKSPACE_MAX_ACTIVE_NODES', 100, 0, 1_000_000),
      wsMaxSubscriptionsPerSocket: int('WEFT_WS_MAX_SUBSCRIPTIONS_PER_SOCKET', 1000, 1, 1_000_000),
      wsMaxSubscriptionsPerKey: int('WEFT_WS_MAX_SUBSCRIPTIONS_PER_KEY', 10_000, 1, 10_000_000),
      eventStreamMaxBufferedBytes: int('WEFT_EVENT_STREAM_MAX_BUFFERED_BYTES', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    },
    triggers: {
      schedulesPerWorkspace: int('WEFT_SCHEDULES_PER_WORKSPACE', 100, 1, 100_000),
      scheduleMinIntervalSeconds: int('WEFT_SCHEDULE_MIN_INTERVAL_SECONDS', 60, 1, 86_400),
      hooksPerWorkspace: int('WEFT_HOOKS_PER_WORKSPACE', 100, 1, 100_000),
    },
    apiRedisCommandTimeoutMs: int('WEFT_API_REDIS_TIMEOUT_MS', 1000, 50, 60_000),
  };
  const { maxBytes, memoryMb } = config.expressions;
  // A value of maxBytes is built in a thread's heap, beside its input and its intermediate steps.
  if (memoryMb * 1_048_576 < 4 * maxBytes) problems.push(`WEFT_EXPRESSION_MEMORY_MB: must be at least 4 × WEFT_EXPRESSION_MAX_BYTES (${Math.ceil((4 * maxBytes) / 1_048_576)} MB), got ${memoryMb}`);
  const { defaultTimeoutMs, maxTimeoutMs } = config.code;
  if (defaultTimeoutMs > maxTimeoutMs) problems.push(`WEFT_CODE_TIMEOUT_MS: must be at most WEFT_CODE_MAX_TIMEOUT_MS (${maxTimeoutMs}), got ${defaultTimeoutMs}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The bounds the api checks code nodes' configs against when a flow is written. */
export function flowLimitsOf(config: Pick<WeftConfig, 'code'>): FlowLimits {
  return { codeMaxMemoryMb: config.code.maxMemoryMb, codeMaxTimeoutMs: config.code.maxTimeoutMs };
}

/** The listen address as a URL; a wildcard host is reached through loopback. */
function listenUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '[::]' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') && !reachable.startsWith('[') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * `WEFT_CORS_ORIGINS`: a comma-separated list of origins (`https://app.example.com`), or `*` for
 * any origin. Each entry must be an origin exactly (scheme, host, optional port; no path), so a
 * typo cannot quietly open or close the api to a browser.
 */
function parseCorsOrigins(raw: string | null, problems: string[]): string[] {
  if (raw === null) return [];
  const origins = raw.split(',').map((o) => o.trim()).filter((o) => o !== '');
  for (const origin of origins) {
    if (origin === '*') continue;
    const parsed = URL.canParse(origin) ? new URL(origin) : null;
    if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.origin !== origin) {
      problems.push(`WEFT_CORS_ORIGINS: '${origin}' is not an origin (write scheme://host[:port], comma-separated, or *)`);
    }
  }
  if (origins.includes('*') && origins.length > 1) problems.push('WEFT_CORS_ORIGINS: * allows every origin; give it alone');
  return origins;
}

function parseRateLimits(raw: string | null, problems: string[]): Partial<Record<string, ProviderRateLimit>> {
  if (raw === null) return {};
  const bad = (why: string): Partial<Record<string, ProviderRateLimit>> => {
    problems.push(`WEFT_PROVIDER_RATE_LIMITS: ${why} (e.g. {"openai":{"requestsPerSecond":5,"maxConcurrent":10}})`);
    return {};
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return bad('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return bad('must be an object keyed by provider');
  const out: Partial<Record<string, ProviderRateLimit>> = {};
  for (const [provider, limit] of Object.entries(parsed as Record<string, unknown>)) {
    if (!isProviderName(provider)) return bad(`unknown provider '${provider}'`);
    if (typeof limit !== 'object' || limit === null) return bad(`limit of '${provider}' must be an object`);
    const entry: ProviderRateLimit = {};
    for (const [key, value] of Object.entries(limit as Record<string, unknown>)) {
      if (key !== 'requestsPerSecond' && key !== 'requestsPerMinute' && key !== 'maxConcurrent') return bad(`unknown key '${key}' for '${provider}'`);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return bad(`${provider}.${key} must be a positive integer`);
      entry[key] = value;
    }
    out[provider] = entry;
  }
  return out;
}

/** WEFT_WORKER_NODE_TYPES (a comma-separated list of built-in types) and the pool's metric name. */
function workerPool(typesRaw: string | null, poolRaw: string | null, problems: string[]): Pick<WeftConfig, 'workerNodeTypes' | 'workerPool'> {
  const names = (typesRaw ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  const unknown = names.filter((t) => !(NODE_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) problems.push(`WEFT_WORKER_NODE_TYPES: unknown node types ${unknown.join(', ')} (known: ${NODE_TYPES.join(', ')})`);
  const chosen = new Set(names);
  const types = names.length === 0 || unknown.length > 0 ? NODE_TYPES : NODE_TYPES.filter((t) => chosen.has(t));
  const pool = poolRaw ?? (types.length === NODE_TYPES.length ? 'all' : [...types].sort().join('_'));
  // A Prometheus label value that a Kubernetes label selector (an HPA's) can match.
  if (!/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(pool)) problems.push('WEFT_WORKER_POOL: letters, digits, _ . and - only (1-63), starting and ending with a letter or digit');
  return { workerNodeTypes: types, workerPool: pool };
}
