import { EventEmitter } from 'node:events';
import { frameOf } from '../../engine/event-frame.js';
import { compareEventIds, isEventId } from '../../engine/event-ids.js';
import type { EventDraft, WeftEvent } from '../../model/index.js';
import { WeftError } from '../../errors/weft-error.js';
import type { EventArchive, EventBus, EventHandler, FrameHandler, Unsubscribe } from '../../ports/event-bus.js';

export interface MemoryEventBusOptions {
  /** Events kept per execution for replay (Redis: the stream's MAXLEN). */
  bufferSize?: number;
  /** Told about a handler that threw, or an archive write that failed. */
  onError?: (err: unknown) => void;
  /**
   * Embedded mode: every event but `node.token` is also stored here, and replays read it, so
   * an execution's history survives a restart of the process.
   */
  archive?: EventArchive;
}

/** Streamed deltas: many, and their text is in node.completed's output. */
const NOT_ARCHIVED: ReadonlySet<string> = new Set(['node.token']);

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
  private readonly frameHandlers = new Set<FrameHandler>();
  private readonly outbox: WeftEvent[] = [];
  private draining = false;
  private readonly archive: EventArchive | undefined;
  private readonly toArchive: WeftEvent[] = [];
  private archiving: Promise<void> | null = null;

  constructor(options: MemoryEventBusOptions = {}) {
    this.bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    this.onError = options.onError ?? (() => undefined);
    this.archive = options.archive;
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
    if (this.archive && !NOT_ARCHIVED.has(event.type)) {
      this.toArchive.push(event);
      this.scheduleArchive(this.archive);
    }
    return event;
  }

  publish(draft: EventDraft): Promise<WeftEvent> {
    return Promise.resolve(this.append(draft));
  }

  /**
   * Settles once every event appended so far is in the archive (at once without one). Nothing
   * on the execution path awaits it — execution never waits on Postgres — so a kill may lose
   * the last few milliseconds of history; `close()` does.
   */
  stored(): Promise<void> {
    return this.archiving ?? Promise.resolve();
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

  subscribeFrames(handler: FrameHandler): Promise<Unsubscribe> {
    this.frameHandlers.add(handler);
    return Promise.resolve(() => {
      this.frameHandlers.delete(handler);
      return Promise.resolve();
    });
  }

  async replay(executionId: string, afterId?: string): Promise<WeftEvent[]> {
    if (afterId !== undefined && !isEventId(afterId)) throw new WeftError('INVALID_REQUEST', `not an event id: ${afterId}`);
    const buffered = this.streams.get(executionId)?.events ?? [];
    const recent = afterId === undefined ? [...buffered] : buffered.filter((e) => compareEventIds(e.id, afterId) > 0);
    if (!this.archive) return recent;
    // The archive has what an earlier process appended; the buffer has node.token and what is
    // still on its way to the archive.
    const merged = new Map((await this.archive.list(executionId, afterId)).map((e) => [e.id, e]));
    for (const e of recent) merged.set(e.id, e);
    return [...merged.values()].sort((a, b) => compareEventIds(a.id, b.id));
  }

  /** Drops an execution's buffer (its hot state expired; Redis: the stream key's TTL). */
  forgetExecution(executionId: string): void {
    this.streams.delete(executionId);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
    this.frameHandlers.clear();
    this.outbox.length = 0;
    await this.stored();
  }

  /** One write at a time, each taking every event appended meanwhile (one multi-row insert). */
  private scheduleArchive(archive: EventArchive): void {
    if (this.archiving) return;
    this.archiving = (async () => {
      try {
        while (this.toArchive.length > 0) {
          const batch = this.toArchive.splice(0, this.toArchive.length);
          try {
            await archive.append(batch);
          } catch (err) {
            // The live buffer still has them; only a restart would lose them.
            this.onError(err);
          }
        }
      } finally {
        this.archiving = null;
      }
    })();
  }

  /** Serialised once for every frame handler (the relay's clients), not once per client. */
  private emitFrame(event: WeftEvent): void {
    const frame = frameOf(event);
    for (const handler of this.frameHandlers) {
      try {
        handler(frame);
      } catch (err) {
        this.onError(err);
      }
    }
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
        for (let event = this.outbox.shift(); event; event = this.outbox.shift()) {
          this.emitter.emit(EVENT, event);
          if (this.frameHandlers.size > 0) this.emitFrame(event);
        }
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
