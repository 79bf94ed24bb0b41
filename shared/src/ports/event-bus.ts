import type { EventDraft, EventFrame, WeftEvent } from '../model/index.js';

export type EventHandler = (event: WeftEvent) => void;
export type FrameHandler = (frame: EventFrame) => void;
export type Unsubscribe = () => Promise<void>;

export interface EventBus {
  /** Appends to the execution's capped stream (which assigns the id) and fans out live. */
  publish(draft: EventDraft): Promise<WeftEvent>;
  /** Every event of every workspace, in per-execution order; one subscription per api instance. */
  subscribe(handler: EventHandler): Promise<Unsubscribe>;
  /**
   * The same events as frames: routing fields plus the event's JSON, built once per event for
   * every frame handler. What a relay uses: it never needs the event's body as an object.
   */
  subscribeFrames(handler: FrameHandler): Promise<Unsubscribe>;
  /** Events of one execution after `afterId` (exclusive), oldest first. */
  replay(executionId: string, afterId?: string): Promise<WeftEvent[]>;
  close(): Promise<void>;
}

/**
 * Where embedded mode keeps its event history beyond the process (PGlite: the
 * execution_events table), so that a replay survives a restart. Redis streams need none.
 */
export interface EventArchive {
  /** Stores events (their ids already assigned); an id stored before is ignored. */
  append(events: readonly WeftEvent[]): Promise<void>;
  /** The execution's stored events after `afterId` (exclusive), oldest first. */
  list(executionId: string, afterId?: string): Promise<WeftEvent[]>;
}
