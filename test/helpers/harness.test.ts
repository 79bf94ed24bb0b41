import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createTestServices, type TestServices } from './services.js';

describe('test harness', () => {
  let svc: TestServices;
  beforeAll(async () => { svc = await createTestServices(); });
  afterAll(async () => { await svc.cleanup(); });

  it('gives each file its own database and a reachable redis', async () => {
    const client = new pg.Client({ connectionString: svc.databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ db: string }>('select current_database() as db');
    await client.end();
    expect(rows[0]?.db).toMatch(/^weft_t_/);
    const redis = new Redis(svc.redisUrl);
    await redis.set(`${svc.prefix}:probe`, '1');
    expect(await redis.get(`${svc.prefix}:probe`)).toBe('1');
    redis.disconnect();
  });
});
