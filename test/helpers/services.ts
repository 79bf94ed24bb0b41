/**
 * Per-test-file isolation on the shared servers: a fresh Postgres database and a unique Redis
 * key prefix, both removed by `cleanup()`.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
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

/**
 * Registers, in the current describe block, the test services and a Redis client on them; the
 * answer's fields are readable once beforeAll has run.
 */
export function redisForSuite(): { readonly svc: TestServices; readonly redis: Redis } {
  const suite: { svc?: TestServices; redis?: Redis } = {};
  beforeAll(async () => {
    suite.svc = await createTestServices();
    suite.redis = new Redis(suite.svc.redisUrl);
  });
  afterAll(async () => {
    await suite.redis?.quit();
    await suite.svc?.cleanup();
  });
  return {
    get svc() {
      if (!suite.svc) throw new Error('test services are set up in beforeAll');
      return suite.svc;
    },
    get redis() {
      if (!suite.redis) throw new Error('the redis client is set up in beforeAll');
      return suite.redis;
    },
  };
}
