/**
 * Per-test-file isolation on the shared servers: a fresh Postgres database and a unique Redis
 * key prefix, both removed by `cleanup()`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

export interface TestServices {
  redisUrl: string;
  /** URL of a database created for this file. */
  databaseUrl: string;
  /** Unique Redis key prefix (also the BullMQ prefix seed). */
  prefix: string;
  cleanup(): Promise<void>;
}

export function uniqueId(length = 8): string {
  return randomBytes(length).toString('hex').slice(0, length);
}

export async function createTestServices(): Promise<TestServices> {
  const redisUrl = inject('redisUrl');
  const baseUrl = inject('databaseUrl');
  const prefix = `wt${uniqueId()}`;
  const dbName = `weft_t_${uniqueId(12)}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  return {
    redisUrl,
    databaseUrl: url.toString(),
    prefix,
    async cleanup() {
      const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            if (keys.length > 0) await redis.unlink(...keys);
          } while (cursor !== '0');
        }
      } finally {
        redis.disconnect();
      }
      const drop = new pg.Client({ connectionString: baseUrl });
      await drop.connect();
      try {
        await drop.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      } finally {
        await drop.end();
      }
    },
  };
}
