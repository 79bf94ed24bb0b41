/**
 * Redis and Postgres for the bench: private servers (started from PATH, removed at the end), or
 * the servers of REDIS_URL / DATABASE_URL with a unique key prefix and a fresh database.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startPrivatePostgres, startPrivateRedis } from '../helpers/private-services.js';

export interface BenchServices {
  redisUrl: string;
  databaseUrl: string;
  /** Unique per run; every Redis key the bench creates starts with it (or with `{` + it). */
  prefix: string;
  /** False when REDIS_URL was given: server-wide counters then include other clients' traffic. */
  privateRedis: boolean;
  privatePostgres: boolean;
  /** Removes what the bench created: servers, or keys and the database. */
  cleanup(): Promise<void>;
  /** Last resort (deadline, signal): stops private servers synchronously. */
  destroySync(): void;
}

export async function acquireServices(env: Record<string, string | undefined>): Promise<BenchServices> {
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const undo: Array<() => Promise<void>> = [];
  const undoSync: Array<() => void> = [];
  const cleanup = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        process.stderr.write(`bench cleanup: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    undoSync.splice(0);
  };
  try {
    let redisUrl = env.REDIS_URL?.trim() ?? '';
    const privateRedis = redisUrl === '';
    if (privateRedis) {
      const redis = await startPrivateRedis();
      redisUrl = redis.url;
      undo.push(async () => { redis.destroy(); });
      undoSync.push(() => { redis.destroy(); });
    } else {
      const url = redisUrl;
      undo.push(() => deleteKeys(url, prefix));
    }

    let databaseUrl = env.DATABASE_URL?.trim() ?? '';
    const privatePostgres = databaseUrl === '';
    if (privatePostgres) {
      const postgres = await startPrivatePostgres();
      databaseUrl = postgres.url;
      undo.push(async () => { postgres.destroy(); });
      undoSync.push(() => { postgres.destroy(); });
    } else {
      const fresh = await createDatabase(databaseUrl, `weft_${prefix}`);
      databaseUrl = fresh.url;
      undo.push(fresh.drop);
    }

    return {
      redisUrl, databaseUrl, prefix, privateRedis, privatePostgres, cleanup,
      destroySync() {
        for (const step of undoSync.splice(0).reverse()) step();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function createDatabase(baseUrl: string, name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Weft keys are `<prefix>:…`, BullMQ keys `{<prefix>…}:…`. */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    for (const pattern of [`${prefix}*`, `{${prefix}*`]) {
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
}
