import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../shared/src/adapters/memory/memory-event-bus.js';
import { MemoryStateStore } from '../../shared/src/adapters/memory/memory-state-store.js';
import { RedisEventBus } from '../../shared/src/adapters/redis/redis-event-bus.js';
import { RedisStateStore } from '../../shared/src/adapters/redis/redis-state-store.js';
import { redisForSuite, uniqueId } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { eventBusContract } from './event-bus.contract.js';

eventBusContract('memory', () => {
  const bus = new MemoryEventBus();
  const store = new MemoryStateStore({ events: bus });
  return Promise.resolve({
    bus,
    store,
    async cleanup() {
      await store.close();
      await bus.close();
    },
  });
});

describe('MemoryEventBus specifics', () => {
  it('keeps the last bufferSize events of an execution for replay', async () => {
    const bus = new MemoryEventBus({ bufferSize: 3 });
    const base = { type: 'node.token' as const, executionId: 'e', flowId: 'f', workspaceId: 'w', at: 'now' };
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await bus.publish({ ...base, data: { i } })).id);
    expect((await bus.replay('e')).map((e) => e.id)).toEqual(ids.slice(2));
    await bus.close();
  });
});

describe('redis', () => {
  const suite = redisForSuite();

  eventBusContract('redis', () => {
    const prefix = `${suite.svc.prefix}:${uniqueId()}`;
    const bus = new RedisEventBus({ redis: suite.redis, prefix });
    const store = new RedisStateStore({ redis: suite.redis, prefix });
    return Promise.resolve({
      bus,
      store,
      async cleanup() {
        await store.close();
        await bus.close();
      },
    });
  });

  describe('RedisEventBus specifics', () => {
    it('uses one subscriber connection from the factory, closes it, and leaves the shared one open', async () => {
      const opened: Redis[] = [];
      const bus = new RedisEventBus({
        redis: suite.redis,
        prefix: `${suite.svc.prefix}:${uniqueId()}`,
        subscriberFactory: () => {
          const connection = suite.redis.duplicate();
          opened.push(connection);
          return connection;
        },
      });
      const seen: string[] = [];
      const [u1, u2] = await Promise.all([bus.subscribe((e) => seen.push(e.id)), bus.subscribe((e) => seen.push(e.id))]);
      expect(opened).toHaveLength(1);
      await bus.publish({ type: 'execution.queued', executionId: 'x', flowId: 'f', workspaceId: 'w', at: 'now', data: {} });
      await waitFor(() => seen.length === 2, { timeoutMs: 5000 });
      await u1();
      await u2();
      await bus.close();
      await waitFor(() => opened[0]?.status === 'end', { timeoutMs: 5000 });
      expect(await suite.redis.ping()).toBe('PONG');
    });

    it('ignores messages on its channels that are not events', async () => {
      const prefix = `${suite.svc.prefix}:${uniqueId()}`;
      const errors: unknown[] = [];
      const bus = new RedisEventBus({ redis: suite.redis, prefix, onError: (err) => errors.push(err) });
      const seen: string[] = [];
      await bus.subscribe((e) => seen.push(e.type));
      await suite.redis.publish(`${prefix}:events:w`, 'not json');
      await bus.publish({ type: 'execution.queued', executionId: 'x', flowId: 'f', workspaceId: 'w', at: 'now', data: {} });
      await waitFor(() => seen.length === 1, { timeoutMs: 5000 });
      expect(errors).toHaveLength(1);
      await bus.close();
    });
  });
});
