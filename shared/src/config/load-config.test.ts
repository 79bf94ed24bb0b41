import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';

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

  it('bounds expressions by default and checks the bounds it is given', () => {
    expect(loadConfig({}, 'all').expressions).toEqual({ timeoutMs: 1000, maxDepth: 200, maxBytes: 10 * 1_048_576, memoryMb: 128, threads: 2 });
    const c = loadConfig({ WEFT_EXPRESSION_TIMEOUT_MS: '250', WEFT_EXPRESSION_MAX_DEPTH: '50', WEFT_EXPRESSION_MAX_BYTES: '65536', WEFT_EXPRESSION_MEMORY_MB: '32', WEFT_EXPRESSION_THREADS: '1' }, 'all');
    expect(c.expressions).toEqual({ timeoutMs: 250, maxDepth: 50, maxBytes: 65_536, memoryMb: 32, threads: 1 });
    expect(problems({ WEFT_EXPRESSION_TIMEOUT_MS: '0', WEFT_EXPRESSION_THREADS: 'many' }).map((p) => p.split(':')[0]).sort()).toEqual(['WEFT_EXPRESSION_THREADS', 'WEFT_EXPRESSION_TIMEOUT_MS']);
    // A thread's heap must hold what the size bound lets an evaluation build.
    expect(problems({ WEFT_EXPRESSION_MAX_BYTES: String(64 * 1_048_576), WEFT_EXPRESSION_MEMORY_MB: '128' })[0]).toMatch(/^WEFT_EXPRESSION_MEMORY_MB: must be at least 4 × WEFT_EXPRESSION_MAX_BYTES/);
  });
});
