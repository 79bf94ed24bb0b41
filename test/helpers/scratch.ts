/**
 * Scratch resources on shared servers: a database of its own and the removal of a key prefix.
 * No vitest import, so the bench uses them too.
 */
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * `icuLocale` makes the database's default collation that ICU locale (Postgres 15+ built with
 * ICU): tests of text order then see what a server initialised in that locale would do.
 */
export async function createScratchDatabase(
  baseUrl: string,
  name: string,
  options: { icuLocale?: string } = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    const icu = options.icuLocale === undefined ? '' : ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale.replaceAll("'", "''")}'`;
    await admin.query(`CREATE DATABASE ${name}${icu}`);
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

/** Deletes every key matching one of the patterns (SCAN + UNLINK). */
export async function deleteKeys(redisUrl: string, patterns: readonly string[]): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const pattern of patterns) {
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
