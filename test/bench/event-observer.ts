/**
 * The bench's own view of Weft's events: a bare Redis pattern subscriber on the event channels,
 * timestamped on receipt (`performance.now()`). Every event reaches it one pub/sub hop after it
 * is published, so differences between two events (a hop, a fan-in) are exact up to that jitter,
 * and it adds no load to the api. The relay row compares it with the api's WebSocket.
 */
import { Redis } from 'ioredis';
import { TimeoutError } from './waits.js';

export interface SeenEvent {
  type: string;
  executionId: string;
  nodeId: string;
  /** performance.now() at receipt. */
  at: number;
}

type Listener = (event: SeenEvent) => void;

const FAILED = new Set(['execution.failed', 'execution.cancelled']);

export interface EventObserver {
  /** Weft's channel pattern (`<prefix>:events:*`), for the relay baseline. */
  pattern: string;
  listen(listener: Listener): () => void;
  /** Resolves with each execution's end time once all have completed; rejects on a failure or after `timeoutMs`. */
  waitForEnds(ids: readonly string[], timeoutMs: number, what: string): Promise<number[]>;
  /** Drops what is remembered of these executions' ends. */
  forget(ids: readonly string[]): void;
  close(): void;
}

/** Parses a published event: null when it is not one. */
export function parseSeenEvent(message: string, at: number): SeenEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { type, executionId, nodeId } = value as Record<string, unknown>;
  if (typeof type !== 'string' || typeof executionId !== 'string') return null;
  return { type, executionId, nodeId: typeof nodeId === 'string' ? nodeId : '', at };
}

/** What an observer keeps of the events it is fed: their listeners, and each execution's end. */
export type EventTracker = Omit<EventObserver, 'pattern' | 'close'> & {
  /** Feeds one received message (an event's JSON), timestamped now. */
  receive(message: string): void;
  clear(): void;
};

export function createEventTracker(): EventTracker {
  const listeners = new Set<Listener>();
  /** Ends seen, kept until forgotten: a start's 202 may arrive after its execution ended. */
  const ends = new Map<string, { at: number; failure: string | null }>();
  const waiters = new Set<() => void>();
  return {
    receive(message) {
      const event = parseSeenEvent(message, performance.now());
      if (!event) return;
      if (event.type === 'execution.completed' || FAILED.has(event.type)) {
        ends.set(event.executionId, { at: event.at, failure: FAILED.has(event.type) ? `${event.type}: ${message.slice(0, 400)}` : null });
        for (const wake of waiters) wake();
      }
      for (const listener of listeners) listener(event);
    },
    listen(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    waitForEnds(ids, timeoutMs, what) {
      return new Promise<number[]>((resolve, reject) => {
        const check = (): void => {
          const times: number[] = [];
          for (const id of ids) {
            const end = ends.get(id);
            if (!end) return;
            if (end.failure !== null) {
              finish();
              reject(new Error(`${what}: execution ${id} ${end.failure}`));
              return;
            }
            times.push(end.at);
          }
          finish();
          resolve(times);
        };
        const timer = setTimeout(() => {
          finish();
          const missing = ids.filter((id) => !ends.has(id)).length;
          reject(new TimeoutError(`${what} (${missing} of ${ids.length} executions not ended)`, timeoutMs));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    forget(ids) {
      for (const id of ids) ends.delete(id);
    },
    clear() {
      listeners.clear();
    },
  };
}

export async function startEventObserver(redisUrl: string, prefix: string): Promise<EventObserver> {
  const pattern = `${prefix}:events:*`;
  const subscriber = new Redis(redisUrl);
  const tracker = createEventTracker();
  subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => { tracker.receive(message); });
  await subscriber.psubscribe(pattern);
  const { listen, waitForEnds, forget } = tracker;
  return {
    pattern,
    listen,
    waitForEnds,
    forget,
    close() {
      tracker.clear();
      subscriber.disconnect();
    },
  };
}
