import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';
import { NODE_TYPES } from '../flow/types.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const distributed = { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://u@127.0.0.1:5432/db', WEFT_MASTER_KEY: KEY, WEFT_ADMIN_TOKEN: 'a-long-enough-admin-token' };

function problems(env: Record<string, string>, role: 'api' | 'worker' | 'all' = 'all'): string[] {
  try {
    loadConfig(env, role);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('defaults to embedded mode with sensible values', () => {
    const c = loadConfig({}, 'all');
    expect(c.mode).toBe('embedded');
    expect(c.port).toBe(3000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe('./.weft');
    expect(c.workerPort).toBe(3001);
    expect(c.mockProvider).toBe(true);
    expect(c.masterKey).toBeNull();
    expect(c.nodeErrorMaxChars).toBe(1000);
  });

  it('reads REDIS_URL as a list of cluster seed nodes with REDIS_CLUSTER, and as one URL without', () => {
    const seeds = 'redis://10.0.0.1:7000, redis://10.0.0.2:7001';
    const c = loadConfig({ ...distributed, REDIS_CLUSTER: 'true', REDIS_URL: seeds }, 'all');
    expect(c.redisCluster).toBe(true);
    expect(c.redisUrl).toBe('redis://10.0.0.1:7000,redis://10.0.0.2:7001');
    expect(loadConfig(distributed, 'all').redisCluster).toBe(false);
    expect(problems({ ...distributed, REDIS_URL: seeds })[0]).toMatch(/^REDIS_URL: not a valid URL/);
    expect(problems({ ...distributed, REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:1,http://b:2' })[0]).toMatch(/^REDIS_URL: must be redis: or rediss: URLs/);
  });

  it('reads WEFT_QUEUE_SHARDS, 1 by default (one slot, the keys of a single Redis as they were)', () => {
    expect(loadConfig(distributed, 'all').queueShards).toBe(1);
    expect(loadConfig({ ...distributed, WEFT_QUEUE_SHARDS: '4' }, 'all').queueShards).toBe(4);
    expect(problems({ ...distributed, WEFT_QUEUE_SHARDS: '0' })[0]).toMatch(/^WEFT_QUEUE_SHARDS/);
    expect(problems({ ...distributed, WEFT_QUEUE_SHARDS: '257' })[0]).toMatch(/^WEFT_QUEUE_SHARDS/);
  });

  it('bounds WEFT_NODE_ERROR_MAX_CHARS', () => {
    expect(loadConfig({ WEFT_NODE_ERROR_MAX_CHARS: '300' }, 'all').nodeErrorMaxChars).toBe(300);
    expect(problems({ WEFT_NODE_ERROR_MAX_CHARS: '10' }).map((p) => p.split(':')[0])).toEqual(['WEFT_NODE_ERROR_MAX_CHARS']);
  });

  it('takes the public URL from WEFT_PUBLIC_URL, else from the listen address', () => {
    expect(loadConfig({}, 'all').publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ ...distributed, PORT: '8080' }, 'api').publicUrl).toBe('http://127.0.0.1:8080');
    expect(loadConfig({ HOST: '::1', PORT: '81' }, 'all').publicUrl).toBe('http://[::1]:81');
    expect(loadConfig({ WEFT_PUBLIC_URL: 'https://weft.example.com/base/' }, 'all').publicUrl).toBe('https://weft.example.com/base');
    expect(loadConfig({}, 'all').resumeLinkTtlSeconds).toBe(7 * 86_400);
    expect(loadConfig({ WEFT_RESUME_LINK_TTL_SECONDS: '60' }, 'all').resumeLinkTtlSeconds).toBe(60);
    expect(problems({ WEFT_PUBLIC_URL: 'ftp://x', WEFT_RESUME_LINK_TTL_SECONDS: '0' }).map((p) => p.split(':')[0]).sort()).toEqual(['WEFT_PUBLIC_URL', 'WEFT_RESUME_LINK_TTL_SECONDS']);
  });

  it('parses distributed mode and its secrets', () => {
    const c = loadConfig({ ...distributed, PORT: '8080', WORKER_CONCURRENCY: '4', LOG_LEVEL: 'DEBUG' }, 'api');
    expect(c.mode).toBe('distributed');
    expect(c.port).toBe(8080);
    expect(c.workerConcurrency).toBe(4);
    expect(c.logLevel).toBe('debug');
    expect(c.masterKey?.length).toBe(32);
    expect(c.mockProvider).toBe(false);
    expect(c.host).toBe('0.0.0.0');
  });

  it('reads the claim-check threshold: 256 KiB by default, at least 1 KiB', () => {
    expect(loadConfig({}, 'all').claimCheckBytes).toBe(262_144);
    expect(loadConfig({ WEFT_CLAIM_CHECK_BYTES: '1048576' }, 'all').claimCheckBytes).toBe(1_048_576);
    expect(problems({ WEFT_CLAIM_CHECK_BYTES: '100' }).map((p) => p.split(':')[0])).toEqual(['WEFT_CLAIM_CHECK_BYTES']);
  });

  it('reads the output caps, with defaults generous enough for the quickstart', () => {
    expect(loadConfig({}, 'all')).toMatchObject({ llmMaxOutputBytes: 1_048_576, llmDefaultMaxTokens: 4096, httpMaxResponseBytes: 10_485_760 });
    const set = loadConfig({ WEFT_LLM_MAX_OUTPUT_BYTES: '65536', WEFT_LLM_DEFAULT_MAX_TOKENS: '256', WEFT_HTTP_MAX_RESPONSE_BYTES: '2048' }, 'all');
    expect(set).toMatchObject({ llmMaxOutputBytes: 65_536, llmDefaultMaxTokens: 256, httpMaxResponseBytes: 2048 });
    const bad = problems({ WEFT_LLM_MAX_OUTPUT_BYTES: '10', WEFT_LLM_DEFAULT_MAX_TOKENS: '0', WEFT_HTTP_MAX_RESPONSE_BYTES: 'lots' });
    expect(bad.map((p) => p.split(':')[0]).sort()).toEqual(['WEFT_HTTP_MAX_RESPONSE_BYTES', 'WEFT_LLM_DEFAULT_MAX_TOKENS', 'WEFT_LLM_MAX_OUTPUT_BYTES']);
  });

  it('reads the API key cache and key limit settings, with defaults, and refuses bad ones', () => {
    const c = loadConfig({}, 'all');
    expect([c.apiKeyCacheTtlMs, c.apiKeyCacheMax, c.apiKeysPerWorkspace]).toEqual([60_000, 10_000, 100]);
    expect(c.triggers).toEqual({ schedulesPerWorkspace: 100, scheduleMinIntervalSeconds: 60, hooksPerWorkspace: 100 });
    expect(problems({ WEFT_SCHEDULE_MIN_INTERVAL_SECONDS: '0', WEFT_HOOKS_PER_WORKSPACE: 'x' }).map((p) => p.split(':')[0]).sort()).toEqual(['WEFT_HOOKS_PER_WORKSPACE', 'WEFT_SCHEDULE_MIN_INTERVAL_SECONDS']);
    const set = loadConfig({ WEFT_API_KEY_CACHE_TTL_MS: '0', WEFT_API_KEY_CACHE_MAX: '5', WEFT_API_KEYS_PER_WORKSPACE: '2' }, 'all');
    expect([set.apiKeyCacheTtlMs, set.apiKeyCacheMax, set.apiKeysPerWorkspace]).toEqual([0, 5, 2]);
    const found = problems({ WEFT_API_KEY_CACHE_TTL_MS: '-1', WEFT_API_KEY_CACHE_MAX: '0', WEFT_API_KEYS_PER_WORKSPACE: 'many' });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(['WEFT_API_KEYS_PER_WORKSPACE', 'WEFT_API_KEY_CACHE_MAX', 'WEFT_API_KEY_CACHE_TTL_MS']);
  });

  it('reads the provider client cache settings, with defaults, and refuses bad ones', () => {
    const c = loadConfig({}, 'all');
    expect([c.providerClientCacheTtlMs, c.providerClientCacheSize]).toEqual([60_000, 1000]);
    const set = loadConfig({ WEFT_PROVIDER_CLIENT_CACHE_TTL_MS: '0', WEFT_PROVIDER_CLIENT_CACHE_SIZE: '5' }, 'all');
    expect([set.providerClientCacheTtlMs, set.providerClientCacheSize]).toEqual([0, 5]);
    const found = problems({ WEFT_PROVIDER_CLIENT_CACHE_TTL_MS: '-1', WEFT_PROVIDER_CLIENT_CACHE_SIZE: '0' });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(['WEFT_PROVIDER_CLIENT_CACHE_SIZE', 'WEFT_PROVIDER_CLIENT_CACHE_TTL_MS']);
  });

  it('reads a worker pool: its node types and its metric name', () => {
    expect(loadConfig({}, 'all')).toMatchObject({ workerNodeTypes: NODE_TYPES, workerPool: 'all' });
    expect(loadConfig({ WEFT_WORKER_NODE_TYPES: ' llm ' }, 'all')).toMatchObject({ workerNodeTypes: ['llm'], workerPool: 'llm' });
    expect(loadConfig({ WEFT_WORKER_NODE_TYPES: 'transform,http,code', WEFT_WORKER_POOL: 'cheap' }, 'all')).toMatchObject({ workerNodeTypes: ['transform', 'http', 'code'], workerPool: 'cheap' });
    expect(loadConfig({ WEFT_WORKER_NODE_TYPES: 'transform,http' }, 'all').workerPool).toBe('http_transform');
    expect(problems({ WEFT_WORKER_NODE_TYPES: 'llm,gpu' })).toEqual([expect.stringMatching(/^WEFT_WORKER_NODE_TYPES: unknown node types gpu/)]);
    expect(problems({ WEFT_WORKER_POOL: 'a,b' })).toEqual([expect.stringMatching(/^WEFT_WORKER_POOL:/)]);
  });

  it('names every bad variable in one error, one line each', () => {
    const found = problems({ ...distributed, PORT: 'eighty', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'loud', WEFT_MASTER_KEY: 'short', REDIS_URL: 'http://x' });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(['LOG_LEVEL', 'PORT', 'REDIS_URL', 'WEFT_MASTER_KEY', 'WORKER_CONCURRENCY']);
  });

  it('requires both URLs, the master key, and the admin token for the api', () => {
    expect(problems({ REDIS_URL: distributed.REDIS_URL, WEFT_MASTER_KEY: KEY, WEFT_ADMIN_TOKEN: distributed.WEFT_ADMIN_TOKEN })[0]).toMatch(/^DATABASE_URL: required/);
    expect(problems({ ...distributed, WEFT_MASTER_KEY: '' })[0]).toMatch(/^WEFT_MASTER_KEY: required/);
    expect(problems({ ...distributed, WEFT_ADMIN_TOKEN: '' }, 'api')[0]).toMatch(/^WEFT_ADMIN_TOKEN: required/);
    expect(problems({ ...distributed, WEFT_ADMIN_TOKEN: '' }, 'worker')).toEqual([]);
    expect(problems({}, 'worker')[0]).toMatch(/^REDIS_URL: required to run the worker alone/);
  });

  it('bounds request bodies by depth and string length, configurably', () => {
    const c = loadConfig({}, 'all');
    expect(c.jsonMaxDepth).toBe(64);
    expect(c.jsonMaxStringLength).toBe(262_144);
    const set = loadConfig({ WEFT_MAX_JSON_DEPTH: '16', WEFT_MAX_STRING_LENGTH: '4096' }, 'all');
    expect([set.jsonMaxDepth, set.jsonMaxStringLength]).toEqual([16, 4096]);
    expect(problems({ WEFT_MAX_JSON_DEPTH: '2', WEFT_MAX_STRING_LENGTH: 'lots' }).map((p) => p.split(':')[0]).sort()).toEqual(['WEFT_MAX_JSON_DEPTH', 'WEFT_MAX_STRING_LENGTH']);
  });

  it('turns CORS on only for the origins WEFT_CORS_ORIGINS lists', () => {
    expect(loadConfig({}, 'all').corsOrigins).toEqual([]);
    expect(loadConfig({ WEFT_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }, 'all').corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(loadConfig({ WEFT_CORS_ORIGINS: '*' }, 'all').corsOrigins).toEqual(['*']);
    for (const bad of ['app.example.com', 'https://app.example.com/', 'https://app.example.com/path', 'ftp://x.example', '*, https://a.example']) {
      expect(problems({ WEFT_CORS_ORIGINS: bad })[0]).toMatch(/^WEFT_CORS_ORIGINS: /);
    }
  });

  it('bounds expressions by default and checks the bounds it is given', () => {
    expect(loadConfig({}, 'all').expressions).toEqual({ timeoutMs: 1000, maxDepth: 200, maxBytes: 10 * 1_048_576, memoryMb: 128, threads: 2 });
    const c = loadConfig({ WEFT_EXPRESSION_TIMEOUT_MS: '250', WEFT_EXPRESSION_MAX_DEPTH: '50', WEFT_EXPRESSION_MAX_BYTES: '65536', WEFT_EXPRESSION_MEMORY_MB: '32', WEFT_EXPRESSION_THREADS: '1' }, 'all');
    expect(c.expressions).toEqual({ timeoutMs: 250, maxDepth: 50, maxBytes: 65_536, memoryMb: 32, threads: 1 });
    expect(problems({ WEFT_EXPRESSION_TIMEOUT_MS: '0', WEFT_EXPRESSION_THREADS: 'many' }).map((p) => p.split(':')[0]).sort()).toEqual(['WEFT_EXPRESSION_THREADS', 'WEFT_EXPRESSION_TIMEOUT_MS']);
    // A thread's heap must hold what the size bound lets an evaluation build.
    expect(problems({ WEFT_EXPRESSION_MAX_BYTES: String(64 * 1_048_576), WEFT_EXPRESSION_MEMORY_MB: '128' })[0]).toMatch(/^WEFT_EXPRESSION_MEMORY_MB: must be at least 4 × WEFT_EXPRESSION_MAX_BYTES/);
  });
});
