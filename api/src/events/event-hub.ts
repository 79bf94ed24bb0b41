/**
 * Each api instance subscribes to the event bus once and fans events out to its WebSocket
 * and SSE clients, by execution and by flow, never across workspaces. It routes frames (the
 * routing fields and the event's JSON, serialised once for all clients), never parsed bodies.
 */
import { compareEventIds, frameOf } from '@weft/shared/engine';
import { TERMINAL_EVENT_TYPES, type EventFrame } from '@weft/shared/model';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { EventBus, Unsubscribe } from '@weft/shared/ports';

type Listener = (frame: EventFrame) => void;

declare module 'fastify' {
  interface FastifyInstance {
    /** Fans events out to this instance's WebSocket and SSE clients. */
    hub: EventHub;
  }
}

interface Registration {
  workspaceId: string;
  fn: Listener;
}

export class EventHub {
  private readonly byExecution = new Map<string, Set<Registration>>();
  private readonly byFlow = new Map<string, Set<Registration>>();
  private unsubscribe: Unsubscribe | null = null;

  constructor(
    private readonly bus: EventBus,
    private readonly metrics: WeftMetrics,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe ??= await this.bus.subscribeFrames((frame) => { this.dispatch(frame); });
  }

  async stop(): Promise<void> {
    const off = this.unsubscribe;
    this.unsubscribe = null;
    if (off) await off();
  }

  private dispatch(frame: EventFrame): void {
    const sent = this.deliver(this.byExecution.get(frame.executionId), frame) + this.deliver(this.byFlow.get(frame.flowId), frame);
    // Bookkeeping after the sends, off the delay a client sees.
    this.metrics.eventRelayLag.observe(Math.max(0, Date.now() - Date.parse(frame.at)) / 1000);
    this.metrics.eventRelayFramesTotal.inc({ routed: sent > 0 ? 'delivered' : 'unsubscribed' });
  }

  /** Hands the frame to the registry's listeners of the frame's workspace; answers how many. */
  private deliver(registry: Set<Registration> | undefined, frame: EventFrame): number {
    if (!registry) return 0;
    let count = 0;
    for (const reg of registry) {
      if (reg.workspaceId !== frame.workspaceId) continue;
      count += 1;
      try {
        reg.fn(frame);
      } catch (err) {
        this.logger.warn({ err, executionId: frame.executionId, eventId: frame.id }, 'event listener failed');
      }
    }
    return count;
  }

  private add(map: Map<string, Set<Registration>>, key: string, reg: Registration): () => void {
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    set.add(reg);
    return () => {
      const s = map.get(key);
      if (!s) return;
      s.delete(reg);
      if (s.size === 0) map.delete(key);
    };
  }

  onExecution(workspaceId: string, executionId: string, fn: Listener): () => void {
    return this.add(this.byExecution, executionId, { workspaceId, fn });
  }

  onFlow(workspaceId: string, flowId: string, fn: Listener): () => void {
    return this.add(this.byFlow, flowId, { workspaceId, fn });
  }

  /**
   * Replays the execution's events after `afterId`, then delivers live ones, each exactly
   * once and in order. Live events arriving during the replay are buffered, not lost.
   */
  async follow(input: { workspaceId: string; executionId: string; afterId?: string; send: Listener }): Promise<() => void> {
    let lastId = input.afterId;
    let live = false;
    const buffered: EventFrame[] = [];
    const deliver = (frame: EventFrame): void => {
      if (lastId !== undefined && compareEventIds(frame.id, lastId) <= 0) return;
      lastId = frame.id;
      input.send(frame);
    };
    const off = this.onExecution(input.workspaceId, input.executionId, (frame) => {
      if (live) deliver(frame);
      else buffered.push(frame);
    });
    try {
      const history = await this.bus.replay(input.executionId, input.afterId);
      for (const event of history) if (event.workspaceId === input.workspaceId) deliver(frameOf(event));
      live = true;
      for (const frame of buffered) deliver(frame);
      buffered.length = 0;
    } catch (err) {
      off();
      throw err;
    }
    return off;
  }

  /** Resolves true when the execution reaches a terminal event (or one `until` accepts) within `timeoutMs`. */
  waitForEnd(input: { workspaceId: string; executionId: string; timeoutMs: number; until?: (frame: EventFrame) => boolean }): { done: Promise<boolean>; cancel: () => void } {
    let off: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<boolean>((resolve) => {
      off = this.onExecution(input.workspaceId, input.executionId, (frame) => {
        if (TERMINAL_EVENT_TYPES.has(frame.type) || input.until?.(frame) === true) resolve(true);
      });
      timer = setTimeout(() => { resolve(false); }, input.timeoutMs);
    }).finally(() => {
      off();
      clearTimeout(timer);
    });
    return { done, cancel: () => { off(); clearTimeout(timer); } };
  }
}
