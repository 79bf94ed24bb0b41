import { duplicateRedis, isCluster, type RedisClient } from './connection.js';
import { frameOf, readEventFrame } from '../../engine/event-frame.js';
import { isEventId } from '../../engine/event-ids.js';
import { EVENT_TYPES, type EventDraft, type EventFrame, type EventType, type WeftEvent } from '../../model/index.js';
import { WeftError } from '../../errors/weft-error.js';
import type { EventBus, EventHandler, FrameHandler, Unsubscribe } from '../../ports/event-bus.js';
import { allSlotEventsChannels, EVENT_STREAM_MAXLEN, eventsChannelArg, eventsChannelPattern, executionKeys } from './keys.js';
import { defineWeftScripts, type WeftScripts } from './lua/scripts.js';

export interface RedisEventBusOptions {
  /** Shared command connection; the caller owns (and closes) it. */
  redis: RedisClient;
  /**
   * Opens the dedicated subscriber connection; default `redis.duplicate()`. The bus closes it. On a
   * cluster it must be a Cluster client with `shardedSubscribers` (connection.ts `openRedis`).
   */
  subscriberFactory?: () => RedisClient;
  prefix: string;
  /** Told about subscriber connection errors, messages that are not Weft events, handlers that threw. */
  onError?: (err: unknown) => void;
}

/**
 * Redis pub/sub for live fan-out plus a capped stream per execution for replay. One server:
 * PUBLISH on `weft:events:<workspaceId>`, one PSUBSCRIBE of `weft:events:*`. A cluster (the
 * command connection is a Cluster client): sharded pub/sub, which has no patterns and whose
 * channel a script may publish to only in its own slot; each event goes out (SPUBLISH, in the
 * script that appends it) on its execution's slot channel, and the subscriber SSUBSCRIBEs the
 * channel of every slot (16384, one per slot, ~1 s once at start).
 */
export class RedisEventBus implements EventBus {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly subscriberFactory: () => RedisClient;
  private readonly onError: ((err: unknown) => void) | undefined;
  private readonly scripts: WeftScripts;
  private readonly handlers = new Set<EventHandler>();
  private readonly frameHandlers = new Set<FrameHandler>();
  private subscriber: RedisClient | null = null;
  private subscribing: Promise<void> | null = null;

  constructor(options: RedisEventBusOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    // A cluster's subscriber keeps one connection per master for sharded pub/sub.
    this.subscriberFactory = options.subscriberFactory ?? (() => duplicateRedis(options.redis, {}, { shardedSubscribers: true }));
    this.onError = options.onError;
    this.scripts = defineWeftScripts(options.redis);
  }

  async publish(draft: EventDraft): Promise<WeftEvent> {
    const keys = executionKeys(this.prefix, draft.executionId);
    const reply = await this.scripts.weftPublishEvent(
      [keys.events],
      [eventsChannelArg(this.prefix, draft, isCluster(this.redis)), EVENT_STREAM_MAXLEN, eventBody(draft)],
    );
    if (typeof reply !== 'string') throw malformed('publish-event reply');
    return parseWeftEvent(reply);
  }

  subscribe(handler: EventHandler): Promise<Unsubscribe> {
    return this.register(this.handlers, handler);
  }

  subscribeFrames(handler: FrameHandler): Promise<Unsubscribe> {
    return this.register(this.frameHandlers, handler);
  }

  private async register<H>(set: Set<H>, handler: H): Promise<Unsubscribe> {
    set.add(handler);
    try {
      await this.ensureSubscribed();
    } catch (err) {
      set.delete(handler);
      throw err;
    }
    // The one subscription stays open until close(): an api instance subscribes for its lifetime.
    return () => {
      set.delete(handler);
      return Promise.resolve();
    };
  }

  async replay(executionId: string, afterId?: string): Promise<WeftEvent[]> {
    const start = afterId === undefined ? '-' : `(${checkedStreamId(afterId)}`;
    const entries = await this.redis.xrange(executionKeys(this.prefix, executionId).events, start, '+');
    return entries.map(([id, fields]) => parseWeftEvent(fieldValue(fields, 'e'), id));
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.frameHandlers.clear();
    const subscriber = this.subscriber;
    this.subscriber = null;
    this.subscribing = null;
    if (subscriber) {
      await subscriber.quit().catch(() => {
        subscriber.disconnect();
      });
    }
  }

  private ensureSubscribed(): Promise<void> {
    // Concurrent first subscribers share one connection and one PSUBSCRIBE.
    this.subscribing ??= (async () => {
      const subscriber = this.subscriberFactory();
      this.subscriber = subscriber;
      // Without a listener ioredis reports connection errors itself; with one, they go to the owner.
      if (this.onError) subscriber.on('error', this.onError);
      subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
        this.dispatch(message);
      });
      subscriber.on('smessage', (_channel: string, message: string) => {
        this.dispatch(message);
      });
      try {
        if (isCluster(subscriber)) {
          // SSUBSCRIBE takes channels of one slot per call: one call per slot, all in flight at once.
          await Promise.all(allSlotEventsChannels(this.prefix).map((channel) => subscriber.ssubscribe(channel)));
        } else {
          await subscriber.psubscribe(eventsChannelPattern(this.prefix));
        }
      } catch (err) {
        this.subscribing = null;
        this.subscriber = null;
        subscriber.disconnect();
        throw err;
      }
    })();
    return this.subscribing;
  }

  private dispatch(message: string): void {
    // Frames first, from the routing header alone: the relay's path never parses the body.
    let frame: EventFrame | null = this.frameHandlers.size > 0 ? readEventFrame(message) : null;
    let event: WeftEvent | null = null;
    if (this.handlers.size > 0 || (this.frameHandlers.size > 0 && !frame)) {
      try {
        event = parseWeftEvent(message);
      } catch (err) {
        this.onError?.(err);
        return;
      }
      // A message of another shape (no line-free header): serialised once, as clients expect it.
      frame ??= this.frameHandlers.size > 0 ? frameOf(event) : null;
    }
    if (frame) this.each(this.frameHandlers, frame);
    if (event) this.each(this.handlers, event);
  }

  private each<T>(handlers: ReadonlySet<(value: T) => void>, value: T): void {
    for (const handler of handlers) {
      // One faulty handler must not starve the others (nor break the connection's listener).
      try {
        handler(value);
      } catch (err) {
        this.onError?.(err);
      }
    }
  }
}

/** The event's JSON without its id: what the stream stores (the stream id is the event id). */
export function eventBody(draft: EventDraft): string {
  const { type, executionId, flowId, workspaceId, nodeId, at, data } = draft;
  return JSON.stringify(nodeId === undefined
    ? { type, executionId, flowId, workspaceId, at, data }
    : { type, executionId, flowId, workspaceId, nodeId, at, data });
}

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * Parses an event read from Redis (a published message, a script reply, or a stream entry with
 * its id given apart) and checks its shape.
 */
export function parseWeftEvent(json: string, id?: string): WeftEvent {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw malformed('event JSON', err);
  }
  if (typeof value !== 'object' || value === null) throw malformed('event');
  const v = value as Record<string, unknown>;
  const eventId = id ?? v.id;
  const { type, executionId, flowId, workspaceId, nodeId, at, data } = v;
  if (
    typeof eventId !== 'string' || typeof type !== 'string' || !EVENT_TYPE_SET.has(type) ||
    typeof executionId !== 'string' || typeof flowId !== 'string' || typeof workspaceId !== 'string' ||
    typeof at !== 'string' || (nodeId !== undefined && typeof nodeId !== 'string') ||
    typeof data !== 'object' || data === null || Array.isArray(data)
  ) {
    throw malformed('event');
  }
  const base = { id: eventId, type: type as EventType, executionId, flowId, workspaceId };
  const payload = data as Record<string, unknown>;
  return nodeId === undefined ? { ...base, at, data: payload } : { ...base, nodeId, at, data: payload };
}

/** Replay ids come from clients (SSE Last-Event-ID): refuse what Redis would choke on. */
function checkedStreamId(id: string): string {
  if (!isEventId(id)) throw new WeftError('INVALID_REQUEST', `not an event id: ${id}`);
  return id;
}

function fieldValue(fields: readonly string[], name: string): string {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1];
    if (fields[i] === name && value !== undefined) return value;
  }
  throw malformed(`stream entry without field ${name}`);
}

function malformed(what: string, cause?: unknown): WeftError {
  return new WeftError('INTERNAL_ERROR', `malformed ${what} in Redis`, { cause });
}
