/**
 * Looks for a secret, whole or in pieces, everywhere Weft keeps or sends text: every text and
 * JSON column of every table, every Redis key of a prefix (whatever its type), and any other
 * text a test collected (logs, events, API answers). The forms and pieces are computed here on
 * their own, not with the redaction code under test.
 */
import { Redis } from 'ioredis';
import type pg from 'pg';

/** The shortest piece of a secret that counts as a leak. */
export const LEAK_PIECE_CHARS = 8;

/** The secret as it may be written: itself, URL-encoded, JSON-escaped, base64 (both alphabets). */
export function leakForms(secret: string): string[] {
  return [...new Set([
    secret,
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    Buffer.from(secret).toString('base64url'),
  ])];
}

/** Every run of LEAK_PIECE_CHARS characters of every form. */
export function leakPieces(secret: string): Set<string> {
  const pieces = new Set<string>();
  for (const form of leakForms(secret)) {
    for (let i = 0; i + LEAK_PIECE_CHARS <= form.length; i++) pieces.add(form.slice(i, i + LEAK_PIECE_CHARS));
  }
  return pieces;
}

export interface Leak {
  secret: string;
  where: string;
  piece: string;
  context: string;
}

/** Every place (name → text) holding a piece of a secret; empty when nothing leaked. */
export function findLeaks(secrets: Record<string, string>, places: Record<string, string>): Leak[] {
  const leaks: Leak[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    const pieces = leakPieces(secret);
    for (const [where, text] of Object.entries(places)) {
      for (let i = 0; i + LEAK_PIECE_CHARS <= text.length; i++) {
        const piece = text.slice(i, i + LEAK_PIECE_CHARS);
        if (pieces.has(piece)) {
          leaks.push({ secret: name, where, piece, context: text.slice(Math.max(0, i - 60), i + 60) });
          break;
        }
      }
    }
  }
  return leaks;
}

/** Every text, varchar, json and jsonb column of every table, as text (one place per column). */
export async function dumpPostgresText(db: pg.Client): Promise<Record<string, string>> {
  const { rows: columns } = await db.query<{ table_schema: string; table_name: string; column_name: string }>(
    `select c.table_schema, c.table_name, c.column_name from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
      where c.table_schema not in ('pg_catalog', 'information_schema') and c.data_type in ('text', 'character varying', 'json', 'jsonb', 'ARRAY')
      order by 1, 2, 3`,
  );
  const out: Record<string, string> = {};
  for (const { table_schema: schema, table_name: table, column_name: column } of columns) {
    const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
    const { rows } = await db.query<{ v: string | null }>(`select ${ident(column)}::text as v from ${ident(schema)}.${ident(table)}`);
    out[`pg ${schema}.${table}.${column}`] = rows.map((r) => r.v ?? '').join('\n');
  }
  return out;
}

/** Every key matching the patterns (SCAN), read whole whatever its type (one place per key). */
export async function dumpRedis(redisUrl: string, patterns: readonly string[]): Promise<Record<string, string>> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const out: Record<string, string> = {};
  try {
    for (const match of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const type = await redis.type(key);
          let value: unknown;
          switch (type) {
            case 'string':
              value = await redis.get(key);
              break;
            case 'hash':
              value = await redis.hgetall(key);
              break;
            case 'list':
              value = await redis.lrange(key, 0, -1);
              break;
            case 'set':
              value = await redis.smembers(key);
              break;
            case 'zset':
              value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
              break;
            case 'stream':
              value = await redis.xrange(key, '-', '+');
              break;
            default:
              value = `(${type})`;
          }
          // Raw values, and the JSON of the structure: a value is checked both as stored and quoted.
          out[`redis ${key}`] = `${key}\n${Array.isArray(value) ? value.flat(3).join('\n') : typeof value === 'object' && value !== null ? Object.entries(value).flat().join('\n') : String(value)}`;
        }
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return out;
}
