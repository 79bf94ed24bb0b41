/**
 * Per-test-file isolation on the shared servers: a fresh Postgres database and a unique Redis
 * key prefix, both removed by `cleanup()`.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createScratchDatabase, deleteKeys } from './scratch.js';

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
  const prefix = `wt${uniqueId()}`;
  const database = await createScratchDatabase(inject('databaseUrl'), `weft_t_${uniqueId(12)}`);
  return {
    redisUrl,
    databaseUrl: database.url,
    prefix,
    async cleanup() {
      await deleteKeys(redisUrl, [`${prefix}:*`, `{${prefix}}:*`]);
      await database.drop();
    },
  };
}
