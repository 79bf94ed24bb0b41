import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../shared/src/adapters/memory/memory-event-bus.js';
import { MemoryStateStore } from '../../shared/src/adapters/memory/memory-state-store.js';
import { RedisEventBus } from '../../shared/src/adapters/redis/redis-event-bus.js';
import { readEventFrame } from '../../shared/src/engine/event-frame.js';
import type { EventFrame } from '../../shared/src/model/index.js';
import { RedisStateStore } from '../../shared/src/adapters/redis/redis-state-store.js';
import { openRedis, type RedisClient } from '../../shared/src/adapters/redis/connection.js';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../helpers/private-services.js';
import { redisForSuite, uniqueId } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { eventBusContract, type EventBusFixture } from './event-bus.contract.js';

/** A bus and a store over it, closed store first. */
function fixtureOf(bus: EventBusFixture['bus'], store: EventBusFixture['store']): Promise<EventBusFixture> {
  return Promise.resolve({
    bus,
    store,
    async cleanup() {
      await store.close();
      await bus.close();
    },
  });
}

eventBusContract('memory', () => {
  const bus = new MemoryEventBus();
  const store = new MemoryStateStore({ events: bus });
  return fixtureOf(bus, store);
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

describe('redis cluster', () => {
  // A private 3-master cluster: events go out by sharded pub/sub (SPUBLISH in the scripts, on the
  // channel of their execution's slot), and the subscriber SSUBSCRIBEs every slot's channel.
  let cluster: PrivateRedisCluster | undefined;
  let redis: RedisClient | undefined;
  beforeAll(async () => {
    cluster = await startPrivateRedisCluster();
    redis = openRedis({ urls: cluster.urls, cluster: true });
  }, 60_000);
  afterAll(() => {
    redis?.disconnect();
    cluster?.destroy();
  });

  eventBusContract('redis cluster, sharded pub/sub', () => {
    if (!redis) throw new Error('no cluster');
    const prefix = `weft${uniqueId(6)}`;
    const bus = new RedisEventBus({ redis, prefix });
    const store = new RedisStateStore({ redis, prefix });
    return fixtureOf(bus, store);
  });
});

describe('redis', () => {
  const suite = redisForSuite();

  eventBusContract('redis', () => {
    const prefix = `${suite.svc.prefix}:${uniqueId()}`;
    const bus = new RedisEventBus({ redis: suite.redis, prefix });
    const store = new RedisStateStore({ redis: suite.redis, prefix });
    return fixtureOf(bus, store);
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

    it('relays the published bytes without re-serialising them, and every producer writes the routing header', async () => {
      const prefix = `${suite.svc.prefix}:${uniqueId()}`;
      const bus = new RedisEventBus({ redis: suite.redis, prefix });
      const store = new RedisStateStore({ redis: suite.redis, prefix });
      const raw = suite.redis.duplicate();
      const messages: string[] = [];
      raw.on('pmessage', (_p: string, _c: string, m: string) => { messages.push(m); });
      await raw.psubscribe(`${prefix}:events:*`);
      const frames: EventFrame[] = [];
      await bus.subscribeFrames((f) => frames.push(f));
      try {
        // `1.0` and `\/` would come back as `1` and `/` through JSON.parse and JSON.stringify.
        const foreign = '{"id":"1-0","type":"node.token","executionId":"x","flowId":"f","workspaceId":"w","nodeId":"a","at":"now","data":{"n":1.0,"s":"a\\/b"}}';
        await suite.redis.publish(`${prefix}:events:w`, foreign);
        // The scripts' events (Lua appendEvent) and publish() (eventBody).
        const executionId = randomUUID();
        await store.initExecution({ executionId, workspaceId: 'w', flowId: 'f', flowVersion: 1, input: null, at: 'now', nodes: [{ id: 'a', parentCount: 0, children: [] }] });
        await store.startNode({ executionId, nodeId: 'a', attempt: 1, workerId: 'w', at: 'now', readResultsOf: [] });
        await bus.publish({ type: 'node.token', executionId, flowId: 'f', workspaceId: 'w', nodeId: 'a', at: 'now', data: { delta: 'd' } });
        await store.commitNode({
          executionId, nodeId: 'a', takenChildren: [], failExecution: false, soft: false, at: 'now',
          result: { status: 'completed', output: 1, error: null, usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: 'w', startedAt: 'now', finishedAt: 'now', runtimeMs: 1 },
        });
        await waitFor(() => frames.length === 6 && messages.length === 6, { timeoutMs: 5000 });
        expect(frames.map((f) => f.json)).toEqual(messages);
        expect(frames[0]?.json).toBe(foreign);
        expect(messages.every((m) => readEventFrame(m) !== null)).toBe(true);
      } finally {
        raw.disconnect();
        await store.close();
        await bus.close();
      }
    });

    it('relays a message of another shape after parsing it whole', async () => {
      const prefix = `${suite.svc.prefix}:${uniqueId()}`;
      const bus = new RedisEventBus({ redis: suite.redis, prefix });
      const frames: EventFrame[] = [];
      await bus.subscribeFrames((f) => frames.push(f));
      try {
        // Fields in another order, and a line break between tokens: valid JSON, no header.
        await suite.redis.publish(`${prefix}:events:w`, '{"type":"node.token","id":"1-0","executionId":"x","flowId":"f","workspaceId":"w",\n"at":"now","data":{}}');
        await waitFor(() => frames.length === 1, { timeoutMs: 5000 });
        expect(frames[0]).toEqual({ id: '1-0', type: 'node.token', executionId: 'x', flowId: 'f', workspaceId: 'w', at: 'now', json: '{"id":"1-0","type":"node.token","executionId":"x","flowId":"f","workspaceId":"w","at":"now","data":{}}' });
      } finally {
        await bus.close();
      }
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
