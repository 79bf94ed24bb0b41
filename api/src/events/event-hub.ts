/**
 * Each api instance subscribes to the event bus once and fans events out to its WebSocket
 * and SSE clients, by execution and by flow, never across workspaces.
 */
import { compareEventIds } from '@weft/shared/engine';
import { TERMINAL_EVENT_TYPES, type WeftEvent } from '@weft/shared/model';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { EventBus, Unsubscribe } from '@weft/shared/ports';

type Listener = (event: WeftEvent) => void;

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
    this.unsubscribe ??= await this.bus.subscribe((event) => { this.dispatch(event); });
  }

  async stop(): Promise<void> {
    const off = this.unsubscribe;
    this.unsubscribe = null;
    if (off) await off();
  }

  private dispatch(event: WeftEvent): void {
    this.metrics.eventRelayLag.observe(Math.max(0, Date.now() - Date.parse(event.at)) / 1000);
    for (const registry of [this.byExecution.get(event.executionId), this.byFlow.get(event.flowId)]) {
      if (!registry) continue;
      for (const reg of registry) {
        if (reg.workspaceId !== event.workspaceId) continue;
        try {
          reg.fn(event);
        } catch (err) {
          this.logger.warn({ err, executionId: event.executionId }, 'event listener failed');
        }
      }
    }
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
    const buffered: WeftEvent[] = [];
    const deliver = (event: WeftEvent): void => {
      if (lastId !== undefined && compareEventIds(event.id, lastId) <= 0) return;
      lastId = event.id;
      input.send(event);
    };
    const off = this.onExecution(input.workspaceId, input.executionId, (event) => {
      if (live) deliver(event);
      else buffered.push(event);
    });
    try {
      const history = await this.bus.replay(input.executionId, input.afterId);
      for (const event of history) if (event.workspaceId === input.workspaceId) deliver(event);
      live = true;
      for (const event of buffered) deliver(event);
      buffered.length = 0;
    } catch (err) {
      off();
      throw err;
    }
    return off;
  }

  /** Resolves true when the execution reaches a terminal event within `timeoutMs`. */
  waitForEnd(input: { workspaceId: string; executionId: string; timeoutMs: number }): { done: Promise<boolean>; cancel: () => void } {
    let off: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<boolean>((resolve) => {
      off = this.onExecution(input.workspaceId, input.executionId, (event) => {
        if (TERMINAL_EVENT_TYPES.has(event.type)) resolve(true);
      });
      timer = setTimeout(() => { resolve(false); }, input.timeoutMs);
    }).finally(() => {
      off();
      clearTimeout(timer);
    });
    return { done, cancel: () => { off(); clearTimeout(timer); } };
  }
}
