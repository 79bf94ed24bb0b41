/**
 * The only reader of process.env. Parses every variable at once and reports all the bad
 * ones in one error, each line naming the variable.
 */
import { hostname } from 'node:os';
import type { LlmProviderName } from '../flow/types.js';

export type Role = 'api' | 'worker' | 'all';
export type Mode = 'embedded' | 'distributed';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface WeftConfig {
  role: Role;
  mode: Mode;
  host: string;
  port: number;
  redisUrl: string | null;
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
  workerPort: number;
  workerId: string;
  logLevel: LogLevel;
  /** Prefix of every Redis key (and, braced, of the BullMQ queues). */
  keyPrefix: string;
  shutdownGraceMs: number;
  /** Seconds hot state is kept after the final state reached Postgres. */
  hotStateTtlSeconds: number;
  /** Start the local mock provider for workspaces without credentials (embedded default: true). */
  mockProvider: boolean;
  bodyLimitBytes: number;
  /** Bounds of every JSONata evaluation, and the threads that run them (docs/architecture.md, "Expression limits"). */
  expressions: { timeoutMs: number; maxDepth: number; maxBytes: number; memoryMb: number; threads: number };
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

  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
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

  const config: WeftConfig = {
    role,
    mode,
    host: str('HOST') ?? (mode === 'embedded' ? '127.0.0.1' : '0.0.0.0'),
    port: int('PORT', 3000, 0, 65535),
    redisUrl,
    databaseUrl,
    dataDir: str('WEFT_DATA_DIR') ?? './.weft',
    adminToken,
    masterKey,
    masterKeyVersion: int('WEFT_MASTER_KEY_VERSION', 1, 1, 1_000_000),
    queueLockMs: int('WEFT_QUEUE_LOCK_MS', 30_000, 1000, 3_600_000),
    queueStalledIntervalMs: int('WEFT_QUEUE_STALLED_INTERVAL_MS', 30_000, 500, 3_600_000),
    workerConcurrency: int('WORKER_CONCURRENCY', 10, 1, 1000),
    workerPort: int('WORKER_PORT', 3001, 0, 65535),
    workerId: str('WORKER_ID') ?? `${hostname()}-${process.pid}`,
    logLevel,
    keyPrefix,
    shutdownGraceMs: int('SHUTDOWN_GRACE_MS', 25_000, 0, 3_600_000),
    hotStateTtlSeconds: int('WEFT_HOT_STATE_TTL_SECONDS', 3600, 1, 30 * 86400),
    mockProvider: bool('WEFT_MOCK_PROVIDER', mode === 'embedded'),
    bodyLimitBytes: int('WEFT_BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    expressions: {
      timeoutMs: int('WEFT_EXPRESSION_TIMEOUT_MS', 1000, 10, 600_000),
      maxDepth: int('WEFT_EXPRESSION_MAX_DEPTH', 200, 20, 100_000),
      maxBytes: int('WEFT_EXPRESSION_MAX_BYTES', 10 * 1_048_576, 1024, 256 * 1_048_576),
      memoryMb: int('WEFT_EXPRESSION_MEMORY_MB', 128, 16, 16_384),
      threads: int('WEFT_EXPRESSION_THREADS', 2, 1, 64),
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
  };
  const { maxBytes, memoryMb } = config.expressions;
  // A value of maxBytes is built in a thread's heap, beside its input and its intermediate steps.
  if (memoryMb * 1_048_576 < 4 * maxBytes) problems.push(`WEFT_EXPRESSION_MEMORY_MB: must be at least 4 × WEFT_EXPRESSION_MAX_BYTES (${Math.ceil((4 * maxBytes) / 1_048_576)} MB), got ${memoryMb}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
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
