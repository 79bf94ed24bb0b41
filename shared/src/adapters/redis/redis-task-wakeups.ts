/**
 * TaskWakeups over Redis pub/sub: a channel per workspace (`<prefix>:task-wakeups:<workspaceId>`,
 * the message is the handler name), subscribed on one connection per process only while a claim
 * of that workspace waits here. So an api instance hears only the workspaces its workers poll, and
 * a handler name never becomes a channel (tenant-chosen names stay out of Redis' channel table).
 */
import { duplicateRedis, type RedisClient } from './connection.js';
import type { Unsubscribe } from '../../ports/event-bus.js';
import { TaskWakeupListeners, type TaskWakeups } from '../../ports/task-wakeups.js';

export function taskWakeupChannel(prefix: string, workspaceId: string): string {
  return `${prefix}:task-wakeups:${workspaceId}`;
}

/** How long a claim waits for its subscription before it falls back to polling (Redis unreachable). */
const LISTEN_TIMEOUT_MS = 2000;

export class RedisTaskWakeups implements TaskWakeups {
  private subscriber: RedisClient | null = null;
  private readonly listeners = new TaskWakeupListeners();
  private readonly channelPrefix: string;

  constructor(private readonly options: { redis: RedisClient; prefix: string }) {
    this.channelPrefix = taskWakeupChannel(options.prefix, '');
  }

  async notify(input: { workspaceId: string; handler: string }): Promise<void> {
    await this.options.redis.publish(taskWakeupChannel(this.options.prefix, input.workspaceId), input.handler);
  }

  async listen(input: { workspaceId: string; handlers: readonly string[] }, onWake: () => void): Promise<Unsubscribe> {
    const sub = this.connection();
    const listener = { handlers: new Set(input.handlers), onWake };
    const channel = taskWakeupChannel(this.options.prefix, input.workspaceId);
    const unsubscribe = async (): Promise<void> => {
      if (this.listeners.remove(input.workspaceId, listener) && this.subscriber === sub) await sub.unsubscribe(channel).catch(() => undefined);
    };
    // Commands on one connection run in order: an UNSUBSCRIBE of the last listener followed by a
    // SUBSCRIBE of the next leaves the channel subscribed, and a PING behind a pending SUBSCRIBE
    // answers once that subscription is in place.
    const ready = this.listeners.add(input.workspaceId, listener) ? sub.subscribe(channel) : sub.ping();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([ready, new Promise((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`task wake-up subscription not confirmed within ${LISTEN_TIMEOUT_MS} ms`)); }, LISTEN_TIMEOUT_MS);
      })]);
    } catch (err) {
      await unsubscribe();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return unsubscribe;
  }

  private connection(): RedisClient {
    if (this.subscriber) return this.subscriber;
    // Like the control bus's subscriber: it waits for Redis and resubscribes after an outage.
    const sub = duplicateRedis(this.options.redis, { enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
    sub.on('message', (channel: string, handler: string) => {
      if (channel.startsWith(this.channelPrefix)) this.listeners.deliver(channel.slice(this.channelPrefix.length), handler);
    });
    this.subscriber = sub;
    return sub;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) await sub.quit().catch(() => { sub.disconnect(); });
  }
}
