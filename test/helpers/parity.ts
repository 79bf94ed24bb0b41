/**
 * Side by side: the memory StateStore (the TypeScript transitions) and the Redis StateStore (their
 * Lua port), driven with the same calls by the parity tests, which require identical answers,
 * state and events.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { MemoryEventBus } from '../../shared/src/adapters/memory/memory-event-bus.js';
import { MemoryStateStore } from '../../shared/src/adapters/memory/memory-state-store.js';
import { RedisEventBus } from '../../shared/src/adapters/redis/redis-event-bus.js';
import { RedisStateStore } from '../../shared/src/adapters/redis/redis-state-store.js';
import type { HotGraphNode, StateStore } from '../../shared/src/ports/state-store.js';
import type { EventBus } from '../../shared/src/ports/event-bus.js';
import type { WeftEvent } from '../../shared/src/model/index.js';
import { createTestServices, type TestServices } from './services.js';

export interface ParitySides {
  /** One execution on both sides: `both` runs a call on each and requires equal answers. */
  execution(label: string): ParityExecution;
  close(): Promise<void>;
}

export interface ParityExecution {
  both<T>(call: (store: StateStore, executionId: string) => Promise<T>): Promise<T>;
  /** Requires both sides' event streams to be equal (ids aside). */
  expectSameEvents(): Promise<void>;
}

export function hotNodes(ids: readonly string[], edges: ReadonlyArray<readonly [string, string]>): HotGraphNode[] {
  return ids.map((id) => ({
    id,
    parentCount: edges.filter(([, to]) => to === id).length,
    children: edges.filter(([from]) => from === id).map(([, to]) => to),
  }));
}

const withoutIds = (events: readonly WeftEvent[]) => events.map(({ id: _id, executionId: _ex, ...rest }) => rest);
const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'id' || k === 'executionId' ? undefined : x)));

export async function startParitySides(): Promise<ParitySides> {
  const svc: TestServices = await createTestServices();
  const redis = new Redis(svc.redisUrl);
  const memoryEvents = new MemoryEventBus();
  const sides: Array<{ store: StateStore; events: EventBus }> = [
    { store: new MemoryStateStore({ events: memoryEvents }), events: memoryEvents },
    { store: new RedisStateStore({ redis, prefix: svc.prefix }), events: new RedisEventBus({ redis, prefix: svc.prefix }) },
  ];
  return {
    execution(label) {
      const ids = sides.map(() => randomUUID());
      return {
        async both(call) {
          const [mem, red] = await Promise.all(sides.map((side, i) => call(side.store, ids[i]!)));
          expect(strip(red), label).toEqual(strip(mem));
          return mem!;
        },
        async expectSameEvents() {
          const [memEvents, redisEvents] = await Promise.all(sides.map((side, i) => side.events.replay(ids[i]!)));
          expect(withoutIds(redisEvents!), label).toEqual(withoutIds(memEvents!));
        },
      };
    },
    async close() {
      for (const side of sides) {
        await side.store.close();
        await side.events.close();
      }
      await redis.quit();
      await svc.cleanup();
    },
  };
}
