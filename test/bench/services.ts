/**
 * Redis and Postgres for the bench: private servers (redis-server from PATH; Postgres from PATH,
 * /usr/lib/postgresql/<version>/bin or /usr/local/bin; removed at the end), or the servers of the
 * given REDIS_URL / DATABASE_URL with a unique key prefix and a fresh database.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { pgBinDirs, startPrivatePostgres, startPrivateRedis, which } from '../helpers/private-services.js';
import { createScratchDatabase, deleteKeys } from '../helpers/scratch.js';

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

async function portClosed(port: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => { resolve(false); });
    });
    if (!open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
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
      undo.push(async () => {
        redis.destroy();
        // redis-server logs its goodbye after the kill, which can recreate its folder's log file
        // once the folder was removed: remove it again once the server is gone.
        await portClosed(new URL(redis.url).port, 5000);
        redis.destroy();
      });
      undoSync.push(() => { redis.destroy(); });
    } else {
      const url = redisUrl;
      // Weft keys are `<prefix>:…`, BullMQ keys `{<prefix>…}:…`.
      undo.push(() => deleteKeys(url, [`${prefix}*`, `{${prefix}*`]));
    }

    let databaseUrl = env.DATABASE_URL?.trim() ?? '';
    const privatePostgres = databaseUrl === '';
    if (privatePostgres) {
      // Some machines keep the Postgres binaries in /usr/local/bin without it being on PATH.
      if (!which('initdb', pgBinDirs()) && existsSync('/usr/local/bin/initdb')) process.env.PATH = `${process.env.PATH ?? ''}:/usr/local/bin`;
      const postgres = await startPrivatePostgres();
      databaseUrl = postgres.url;
      undo.push(async () => { postgres.destroy(); });
      undoSync.push(() => { postgres.destroy(); });
    } else {
      const fresh = await createScratchDatabase(databaseUrl, `weft_${prefix}`);
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
