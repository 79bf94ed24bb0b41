/**
 * The list prices seeded by migration 0001_seed_model_pricing: present after migrating, and
 * never overwriting a price an operator set, even when the seed runs again. (On PGlite, the same
 * migrations' seed is checked in db-migrations.test.ts, on its one in-memory instance.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, MIGRATIONS_FOLDER } from '@weft/db/database';
import type { ModelPrice, WeftDatabase } from '@weft/db/repos';
import { createTestServices, type TestServices } from '../helpers/services.js';

const SEED_TAG = '0001_seed_model_pricing';

/** provider/model → [input, output, reasoning, cached input] in USD per 1M tokens. */
const EXPECTED: Record<string, [number, number, number, number]> = {
  'openai/gpt-4o': [2.5, 10, 10, 1.25],
  'openai/gpt-4o-mini': [0.15, 0.6, 0.6, 0.075],
  'openai/gpt-4.1': [2, 8, 8, 0.5],
  'openai/gpt-4.1-mini': [0.4, 1.6, 1.6, 0.1],
  'openai/o4-mini': [1.1, 4.4, 4.4, 0.275],
  'openai/gpt-5': [1.25, 10, 10, 0.125],
  'openai/gpt-5-mini': [0.25, 2, 2, 0.025],
  'anthropic/claude-sonnet-4-5': [3, 15, 15, 0.3],
  'anthropic/claude-opus-4-1': [15, 75, 75, 1.5],
  'anthropic/claude-haiku-4-5': [1, 5, 5, 0.1],
  'gemini/gemini-2.5-pro': [1.25, 10, 10, 0.31],
  'gemini/gemini-2.5-flash': [0.3, 2.5, 2.5, 0.075],
  'gemini/gemini-2.5-flash-lite': [0.1, 0.4, 0.4, 0.025],
  // Migration 0006: the one seeded snapshot billed apart from its base (dated names otherwise take their base's row).
  'openai/gpt-4o-2024-05-13': [5, 15, 15, 5],
};

/** Snapshots from before prompt caching: a cache read costs what input does. */
const NO_CACHE_DISCOUNT: ReadonlySet<string> = new Set(['openai/gpt-4o-2024-05-13']);

function byName(prices: readonly ModelPrice[]): Map<string, ModelPrice> {
  return new Map(prices.map((p) => [`${p.provider}/${p.model}`, p]));
}

function asTuple(price: ModelPrice | undefined): number[] | undefined {
  return price && [price.inputPer1M, price.outputPer1M, price.reasoningPer1M, price.cachedPer1M];
}

describe('model_pricing seed on Postgres', () => {
  let svc: TestServices;
  let database: WeftDatabase;
  let sql: pg.Client;

  beforeAll(async () => {
    svc = await createTestServices();
    database = await createDatabase({ url: svc.databaseUrl, masterKey: null, poolSize: 2 });
    await database.migrate();
    sql = new pg.Client({ connectionString: svc.databaseUrl });
    await sql.connect();
  });

  afterAll(async () => {
    await sql?.end();
    await database?.close();
    await svc?.cleanup();
  });

  it('holds the list prices of the common models of the three providers', async () => {
    const prices = byName(await database.repos.pricing.list());
    for (const [name, tuple] of Object.entries(EXPECTED)) expect(asTuple(prices.get(name)), name).toEqual(tuple);
    expect(await database.repos.pricing.get('openai', 'gpt-4o')).toEqual({
      provider: 'openai', model: 'gpt-4o', inputPer1M: 2.5, outputPer1M: 10, reasoningPer1M: 10, cachedPer1M: 1.25,
    });
    for (const p of prices.values()) {
      expect(['openai', 'anthropic', 'gemini']).toContain(p.provider);
      // Every provider bills reasoning tokens as output, and a cache read is cheaper than input.
      expect(p.reasoningPer1M, `${p.provider}/${p.model}`).toBe(p.outputPer1M);
      if (NO_CACHE_DISCOUNT.has(`${p.provider}/${p.model}`)) expect(p.cachedPer1M).toBe(p.inputPer1M);
      else expect(p.cachedPer1M).toBeLessThan(p.inputPer1M);
    }
  });

  it("never overwrites an operator's price, even when the seed runs again", async () => {
    const edited = { provider: 'openai', model: 'gpt-4o', inputPer1M: 2, outputPer1M: 9, reasoningPer1M: 9, cachedPer1M: 1 };
    await database.repos.pricing.upsert(edited);
    await sql.query(`delete from model_pricing where provider = 'openai' and model = 'gpt-4o-mini'`);
    await database.migrate();
    expect(await database.repos.pricing.get('openai', 'gpt-4o')).toEqual(edited);

    // The seed itself once more, as a database restored from an older dump would run it.
    await sql.query(await readFile(join(MIGRATIONS_FOLDER, `${SEED_TAG}.sql`), 'utf8'));
    expect(await database.repos.pricing.get('openai', 'gpt-4o')).toEqual(edited);
    // What the operator did not touch is seeded again.
    expect(asTuple((await database.repos.pricing.get('openai', 'gpt-4o-mini')) ?? undefined)).toEqual(EXPECTED['openai/gpt-4o-mini']);
  });
});
