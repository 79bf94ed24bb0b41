import { EventEmitter } from 'node:events';
import { compareEventIds, isEventId } from '../../engine/event-ids.js';
import type { EventDraft, WeftEvent } from '../../model/index.js';
import { WeftError } from '../../errors/weft-error.js';
import type { EventBus, EventHandler, Unsubscribe } from '../../ports/event-bus.js';

export interface MemoryEventBusOptions {
  /** Events kept per execution for replay (Redis: the stream's MAXLEN). */
  bufferSize?: number;
  /** Told about a handler that threw. */
  onError?: (err: unknown) => void;
}

interface ExecutionStream {
  events: WeftEvent[];
  lastMs: number;
  lastSeq: number;
}

const DEFAULT_BUFFER_SIZE = 10_000;
const EVENT = 'event';

/**
 * Embedded-mode events: a ring buffer per execution for replay and an EventEmitter for live
 * fan-out. Ids are `<ms>-<seq>` like Redis stream ids, so clients cannot tell the modes apart.
 */
export class MemoryEventBus implements EventBus {
  private readonly bufferSize: number;
  private readonly onError: (err: unknown) => void;
  private readonly streams = new Map<string, ExecutionStream>();
  private readonly emitter = new EventEmitter();
  private readonly outbox: WeftEvent[] = [];
  private draining = false;

  constructor(options: MemoryEventBusOptions = {}) {
    this.bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    this.onError = options.onError ?? (() => undefined);
    // Subscribers are api connections relays, not a leak: no listener cap.
    this.emitter.setMaxListeners(0);
  }

  /**
   * Assigns the id, stores and schedules delivery, synchronously: the memory StateStore appends
   * inside its state transition, the way the Redis scripts XADD inside theirs.
   */
  append(draft: EventDraft): WeftEvent {
    let stream = this.streams.get(draft.executionId);
    if (!stream) {
      stream = { events: [], lastMs: 0, lastSeq: -1 };
      this.streams.set(draft.executionId, stream);
    }
    // Redis' rule: the ms part never goes back (clock steps included); the seq breaks ties.
    const now = Date.now();
    if (now > stream.lastMs) {
      stream.lastMs = now;
      stream.lastSeq = 0;
    } else {
      stream.lastSeq += 1;
    }
    const event = { id: `${stream.lastMs}-${stream.lastSeq}`, ...copyDraft(draft) };
    stream.events.push(event);
    if (stream.events.length > this.bufferSize) stream.events.shift();
    this.outbox.push(event);
    this.scheduleDrain();
    return event;
  }

  publish(draft: EventDraft): Promise<WeftEvent> {
    return Promise.resolve(this.append(draft));
  }

  subscribe(handler: EventHandler): Promise<Unsubscribe> {
    const listener = (event: WeftEvent): void => {
      // One faulty handler must not starve the others.
      try {
        handler(event);
      } catch (err) {
        this.onError(err);
      }
    };
    this.emitter.on(EVENT, listener);
    return Promise.resolve(() => {
      this.emitter.off(EVENT, listener);
      return Promise.resolve();
    });
  }

  replay(executionId: string, afterId?: string): Promise<WeftEvent[]> {
    // In the executor, a bad afterId rejects (as in the Redis adapter) instead of throwing.
    return new Promise((resolve) => {
      const events = this.streams.get(executionId)?.events ?? [];
      if (afterId === undefined) {
        resolve([...events]);
        return;
      }
      if (!isEventId(afterId)) throw new WeftError('INVALID_REQUEST', `not an event id: ${afterId}`);
      resolve(events.filter((e) => compareEventIds(e.id, afterId) > 0));
    });
  }

  /** Drops an execution's buffer (its hot state expired; Redis: the stream key's TTL). */
  forgetExecution(executionId: string): void {
    this.streams.delete(executionId);
  }

  close(): Promise<void> {
    this.emitter.removeAllListeners();
    this.outbox.length = 0;
    return Promise.resolve();
  }

  /**
   * Delivery is deferred and drained in append order, so a handler that publishes cannot make
   * other handlers see its event before the one being delivered (Redis pub/sub is async too),
   * and a handler never runs inside the caller's state transition.
   */
  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    queueMicrotask(() => {
      try {
        for (let event = this.outbox.shift(); event; event = this.outbox.shift()) this.emitter.emit(EVENT, event);
      } finally {
        this.draining = false;
      }
    });
  }
}

function copyDraft(draft: EventDraft): EventDraft {
  // Through JSON, as Redis does: what replay and subscribers see is what the Redis adapter gives.
  const { type, executionId, flowId, workspaceId, nodeId, at } = draft;
  const data = JSON.parse(JSON.stringify(draft.data)) as Record<string, unknown>;
  return nodeId === undefined
    ? { type, executionId, flowId, workspaceId, at, data }
    : { type, executionId, flowId, workspaceId, nodeId, at, data };
}
