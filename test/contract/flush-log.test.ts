import { describe, expect, it } from 'vitest';
import { MemoryFlushLog } from '../../shared/src/adapters/memory/memory-flush-log.js';
import { flushStreamKey, shardOf } from '../../shared/src/adapters/redis/keys.js';
import type { FlushEntry } from '../../shared/src/ports/flush-log.js';
import { RedisFlushLog } from '../../shared/src/adapters/redis/redis-flush-log.js';
import { redisForSuite, uniqueId } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { CONTRACT_FLUSH_CLAIM_IDLE_MS, flushLogContract } from './flush-log.contract.js';

flushLogContract('memory', () => {
  const log = new MemoryFlushLog({ claimIdleMs: CONTRACT_FLUSH_CLAIM_IDLE_MS });
  // A read registers its waiter before its first await: once read() returned, it is blocked.
  return Promise.resolve({ log, untilReadBlocks: () => Promise.resolve(), cleanup: () => log.close() });
});

describe('redis', () => {
  const suite = redisForSuite();

  /** Whether the connection named `name` is in a blocking XREADGROUP now. */
  async function readBlocks(name: string): Promise<boolean> {
    const clients = String(await suite.redis.call('CLIENT', 'LIST'));
    return clients.split('\n').some((line) => line.includes(` name=${name} `) && line.includes(' cmd=xreadgroup'));
  }

  // A prefix per test: the flush stream is per prefix, and tests must not share one.
  function redisFixture(options: { readRedis?: boolean; shards?: number } = {}) {
    const prefix = `${suite.svc.prefix}:${uniqueId()}`;
    const name = `flush-${uniqueId()}`;
    const readRedis = options.readRedis ? suite.redis.duplicate() : undefined;
    const log = new RedisFlushLog({
      redis: suite.redis, prefix, claimIdleMs: CONTRACT_FLUSH_CLAIM_IDLE_MS,
      ...(readRedis ? { readRedis } : {}),
      ...(options.shards ? { shards: options.shards } : {}),
      blockingFactory: () => suite.redis.duplicate({ connectionName: name }),
    });
    return {
      log, prefix,
      untilReadBlocks: () => waitFor(() => readBlocks(name), { timeoutMs: 5000, message: 'flush read blocked' }).then(() => undefined),
      async cleanup() {
        await log.close();
        readRedis?.disconnect();
      },
    };
  }
  flushLogContract('redis', () => Promise.resolve(redisFixture()));
  flushLogContract('redis, reading on a connection of its own', () => Promise.resolve(redisFixture({ readRedis: true })));

  describe('RedisFlushLog with shards', () => {
    const done = (executionId: string): FlushEntry => ({ kind: 'execution', executionId });
    const status = (executionId: string): FlushEntry => ({ kind: 'status', executionId });
    const ids = Array.from({ length: 12 }, (_, i) => `ex${i}`);

    it('appends each entry to its execution\'s stream; each partition reads its own, with stream ids', async () => {
      const fx = redisFixture({ shards: 4 });
      await fx.log.append(ids.flatMap((id) => [status(id), done(id)]));
      const used = new Set(ids.map((id) => shardOf(id, 4)));
      expect(used.size).toBeGreaterThanOrEqual(2);
      for (let shard = 0; shard < 4; shard++) {
        const mine = ids.filter((id) => shardOf(id, 4) === shard);
        expect(await suite.redis.xlen(flushStreamKey(fx.prefix, shard, 4))).toBe(mine.length * 2);
      }
      // The unsharded key is not used.
      expect(await suite.redis.exists(flushStreamKey(fx.prefix))).toBe(0);
      const partitions = fx.log.partitions?.() ?? [];
      expect(partitions).toHaveLength(4);
      for (const [shard, partition] of partitions.entries()) {
        const records = await partition.read('c', 100, 0);
        expect(records.map((r) => r.entry)).toEqual(ids.filter((id) => shardOf(id, 4) === shard).flatMap((id) => [status(id), done(id)]));
        expect(records.every((r) => /^\d+-\d+$/.test(r.id))).toBe(true);
        await partition.ack(records.map((r) => r.id));
        expect(await suite.redis.xlen(flushStreamKey(fx.prefix, shard, 4))).toBe(0);
      }
      await fx.cleanup();
    });

    it('read() takes from every stream, in order per execution; ack() forgets them; a blocked read wakes for any shard', async () => {
      const fx = redisFixture({ shards: 4 });
      await fx.log.append(ids.flatMap((id) => [status(id), done(id)]));
      const records = await fx.log.read('c', 100, 0);
      expect(records).toHaveLength(ids.length * 2);
      for (const id of ids) expect(records.filter((r) => r.entry.executionId === id).map((r) => r.entry)).toEqual([status(id), done(id)]);
      await fx.log.ack(records.map((r) => r.id));
      expect(await fx.log.read('c2', 100, 0)).toEqual([]);
      for (const id of ['ex1', 'ex2', 'ex3']) {
        const reading = fx.log.ackAndRead([], 'c', 10, 10_000);
        await fx.untilReadBlocks();
        await fx.log.append([done(id)]);
        const got = await reading;
        expect(got.map((r) => r.entry)).toEqual([done(id)]);
        await fx.log.ack(got.map((r) => r.id));
      }
      await fx.cleanup();
    });
  });

  describe('RedisFlushLog specifics', () => {
    it('does not block the shared connection while a read blocks', async () => {
      const fx = redisFixture();
      const reading = fx.log.read('c', 1, 10_000);
      await fx.untilReadBlocks();
      // Were the read on the shared connection, this PING would wait for it to time out.
      expect(await suite.redis.ping()).toBe('PONG');
      expect(await readBlocks((await suite.redis.call('CLIENT', 'GETNAME')) as string)).toBe(false);
      await fx.log.append([{ kind: 'execution', executionId: 'x' }]);
      expect(await reading).toHaveLength(1);
      await fx.cleanup();
    });

    it('acknowledges and drops entries that are not flush entries', async () => {
      const fx = redisFixture();
      const key = flushStreamKey(fx.prefix);
      await fx.log.read('c', 1, 0);
      await suite.redis.xadd(key, '*', 'f', 'not json');
      await suite.redis.xadd(key, '*', 'f', JSON.stringify({ kind: 'other', executionId: 'x' }));
      await fx.log.append([{ kind: 'execution', executionId: 'x' }]);
      expect((await fx.log.read('c', 10, 0)).map((r) => r.entry)).toEqual([{ kind: 'execution', executionId: 'x' }]);
      expect(await suite.redis.xlen(key)).toBe(1);
      await fx.cleanup();
    });

    it('recreates its group when the stream was deleted', async () => {
      const fx = redisFixture();
      await fx.log.append([{ kind: 'execution', executionId: 'a' }]);
      expect(await fx.log.read('c', 10, 0)).toHaveLength(1);
      await suite.redis.del(flushStreamKey(fx.prefix));
      await suite.redis.xadd(flushStreamKey(fx.prefix), '*', 'f', JSON.stringify({ kind: 'execution', executionId: 'b' }));
      expect((await fx.log.read('c', 10, 0)).map((r) => r.entry)).toEqual([{ kind: 'execution', executionId: 'b' }]);
      await fx.cleanup();
    });
  });
});
