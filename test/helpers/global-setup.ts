/**
 * Starts private redis-server and Postgres (from PATH or Debian's postgresql bin folder) on free
 * ports in a temp folder unless REDIS_URL / DATABASE_URL are given, and stops them afterwards.
 */
import type { TestProject } from 'vitest/node';
import { pgBinDirs, startPrivatePostgres, startPrivateRedis, which } from './private-services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanups: Array<() => void> = [];
  let redisUrl = process.env.REDIS_URL;
  let databaseUrl = process.env.DATABASE_URL;
  const missing: string[] = [];
  if (!redisUrl && !which('redis-server')) missing.push('redis-server (apt-get install redis-server)');
  if (!databaseUrl && !which('initdb', pgBinDirs())) missing.push('PostgreSQL initdb/pg_ctl (apt-get install postgresql)');
  if (missing.length > 0) {
    throw new Error(`Tests need REDIS_URL and DATABASE_URL, or these on PATH: ${missing.join(', ')}`);
  }
  if (!redisUrl) {
    const redis = await startPrivateRedis();
    redisUrl = redis.url;
    cleanups.push(() => { redis.destroy(); });
  }
  if (!databaseUrl) {
    const postgres = await startPrivatePostgres();
    databaseUrl = postgres.url;
    cleanups.push(() => { postgres.destroy(); });
  }
  project.provide('redisUrl', redisUrl);
  project.provide('databaseUrl', databaseUrl);
  return async () => {
    for (const fn of cleanups) fn();
    await Promise.resolve();
  };
}
