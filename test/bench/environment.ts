/** What the figures were measured on: machine, runtimes, package versions, commit. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import pg from 'pg';

const ROOT = new URL('../../', import.meta.url).pathname;

const PACKAGES = ['bullmq', 'ioredis', 'fastify', 'pg', 'drizzle-orm', 'openai', 'ws', '@langchain/langgraph', '@langchain/core', 'autocannon', 'tsx', 'typescript'];

function packageVersion(name: string): string | null {
  const file = join(ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return null;
  const version = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
  return typeof version === 'string' ? version : null;
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

export interface BenchEnvironment {
  cpuCount: number;
  cpuModel: string;
  memoryGb: number;
  loadAverageAtStart: number[];
  node: string;
  platform: string;
  gitSha: string | null;
  gitDirty: boolean;
  packages: Record<string, string | null>;
  redisVersion: string | null;
  postgresVersion: string | null;
}

export async function describeEnvironment(input: { redis: Redis; databaseUrl: string }): Promise<BenchEnvironment> {
  const info = await input.redis.info('server').catch(() => '');
  const client = new pg.Client({ connectionString: input.databaseUrl });
  let postgresVersion: string | null;
  try {
    await client.connect();
    postgresVersion = (await client.query<{ version: string }>('select version()')).rows[0]?.version ?? null;
  } catch {
    postgresVersion = null;
  } finally {
    await client.end().catch(() => undefined);
  }
  return {
    cpuCount: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    loadAverageAtStart: loadavg(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    gitSha: git(['rev-parse', 'HEAD']),
    gitDirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    packages: Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)])),
    redisVersion: /redis_version:(\S+)/.exec(info)?.[1] ?? null,
    postgresVersion,
  };
}
