import { applyCommit, applyInit, applyReadyAfter, applyStart, toHotExecution, type ExecutionState } from '../../engine/apply-commit.js';
import { applyCancel, applyReopen, applyWait } from '../../engine/apply-control.js';
import { applyStartMap, applyTimeoutMap } from '../../engine/apply-map.js';
import { spendFromCounters, spendIncrements, type Spend } from '../../engine/spend.js';
import type { EventDraft, HotExecution, NodeError, WeftEvent } from '../../model/index.js';
import type {
  CommitNodeInput,
  CommitNodeResult,
  FlushEntry,
  FlushRecord,
  InitExecutionInput,
  InitExecutionResult,
  StartMapInput,
  StartMapResult,
  TimeoutMapResult,
  StartNodeInput,
  StartNodeResult,
  StateStore,
  ReopenNodesResult,
  CancelExecutionResult,
  WaitNodeResult,
} from '../../ports/state-store.js';
import type { MemoryEventBus } from './memory-event-bus.js';

export interface MemoryStateStoreOptions {
  /** The bus the store appends its events to, inside each transition. */
  events: MemoryEventBus;
  /** Flush entries delivered longer ago than this and not acknowledged are claimed by readFlush. */
  flushClaimIdleMs?: number;
}

interface PendingFlush {
  record: FlushRecord;
  consumer: string;
  deliveredAt: number;
}

const DEFAULT_FLUSH_CLAIM_IDLE_MS = 30_000;

/**
 * Embedded-mode hot state. Each call is one synchronous step (apply a pure transition from
 * engine/apply-commit.ts, store the next state, append its events), hence as atomic as the Redis
 * scripts. Values cross the boundary through JSON, as they do through Redis, so that neither
 * side can alias the other's objects and both adapters hand back the same shapes.
 */
export class MemoryStateStore implements StateStore {
  private readonly events: MemoryEventBus;
  private readonly flushClaimIdleMs: number;
  private readonly executions = new Map<string, ExecutionState>();
  private readonly expiries = new Map<string, NodeJS.Timeout>();
  /** executionId → nodeId → counters, as the Redis hash of HINCRBY counters. */
  private readonly spent = new Map<string, Map<string, Record<string, number>>>();
  private readonly flushQueue: FlushRecord[] = [];
  private readonly flushPending = new Map<string, PendingFlush>();
  private readonly flushWaiters = new Set<() => void>();
  private flushLastMs = 0;
  private flushLastSeq = -1;

  constructor(options: MemoryStateStoreOptions) {
    this.events = options.events;
    this.flushClaimIdleMs = options.flushClaimIdleMs ?? DEFAULT_FLUSH_CLAIM_IDLE_MS;
  }

  initExecution(input: InitExecutionInput): Promise<InitExecutionResult> {
    return settle(() => {
      const { state, outcome } = applyInit(this.executions.get(input.executionId), { ...input, input: jsonCopy(input.input ?? null) });
      this.executions.set(input.executionId, state);
      return { ...outcome, events: this.append(outcome.events) };
    });
  }

  startNode(input: StartNodeInput): Promise<StartNodeResult> {
    return settle((): StartNodeResult => {
      const { state, outcome } = applyStart(this.executions.get(input.executionId), input);
      if (outcome.kind !== 'started') return outcome;
      if (state) this.executions.set(input.executionId, state);
      return { ...outcome, input: jsonCopy(outcome.input), results: jsonCopy(outcome.results), ...('item' in outcome ? { item: jsonCopy(outcome.item) } : {}), events: this.append(outcome.events) };
    });
  }

  readyAfter(input: { executionId: string; nodeId: string }): Promise<{ ready: string[]; round: number } | null> {
    return settle(() => applyReadyAfter(this.executions.get(input.executionId), input.nodeId) ?? null);
  }

  startMap(input: StartMapInput): Promise<StartMapResult> {
    return settle((): StartMapResult => {
      const { state, outcome } = applyStartMap(this.executions.get(input.executionId), jsonCopy(input));
      if (outcome.kind !== 'started') return outcome;
      if (state) this.executions.set(input.executionId, state);
      return { ...outcome, settledMaps: jsonCopy(outcome.settledMaps), events: this.append(outcome.events) };
    });
  }

  waitNode(input: { executionId: string; nodeId: string; at: string; tokenHash: string | null; data: Record<string, unknown> }): Promise<WaitNodeResult> {
    return settle((): WaitNodeResult => {
      const { state, outcome } = applyWait(this.executions.get(input.executionId), input);
      if (outcome.kind !== 'waiting') return outcome;
      if (state) this.executions.set(input.executionId, state);
      return { ...outcome, events: this.append(outcome.events) };
    });
  }

  cancelExecution(input: { executionId: string; at: string; endAs?: { status: 'failed'; error: NodeError } }): Promise<CancelExecutionResult> {
    return settle((): CancelExecutionResult => {
      const { state, outcome } = applyCancel(this.executions.get(input.executionId), input);
      if (outcome.kind !== 'cancelled') return outcome;
      if (state) this.executions.set(input.executionId, state);
      return { ...outcome, events: this.append(outcome.events) };
    });
  }

  reopenNodes(input: { executionId: string; nodeIds: readonly string[]; at: string }): Promise<ReopenNodesResult> {
    return settle((): ReopenNodesResult => {
      const { state, outcome } = applyReopen(this.executions.get(input.executionId), input);
      if (outcome.kind === 'missing' || outcome.kind === 'not-failed') return outcome;
      if (!state) return { kind: 'missing' };
      this.executions.set(input.executionId, state);
      // As PERSIST in Redis: the execution runs again, the flusher's expiry no longer applies.
      clearTimeout(this.expiries.get(input.executionId));
      this.expiries.delete(input.executionId);
      return { ...outcome, events: this.append(outcome.events) };
    });
  }

  commitNode(input: CommitNodeInput): Promise<CommitNodeResult> {
    return settle(() => {
      // A throw (missing state, unknown node) leaves everything as it was: transitions are pure.
      const { state, outcome } = applyCommit(this.executions.get(input.executionId), { ...input, result: jsonCopy(input.result) });
      this.executions.set(input.executionId, state);
      return { ...outcome, events: this.append(outcome.events) };
    });
  }

  timeoutMap(input: { executionId: string; nodeId: string; round: number; at: string; error: NodeError }): Promise<TimeoutMapResult> {
    return settle((): TimeoutMapResult => {
      const { state, outcome } = applyTimeoutMap(this.executions.get(input.executionId), input);
      if (outcome.kind !== 'ended') return outcome;
      if (state) this.executions.set(input.executionId, state);
      return { ...outcome, settledMaps: jsonCopy(outcome.settledMaps), events: this.append(outcome.events) };
    });
  }

  existingExecutions(executionIds: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(executionIds.filter((id) => this.executions.has(id))));
  }

  restoreExecution(state: ExecutionState): Promise<boolean> {
    if (this.executions.has(state.executionId)) return Promise.resolve(false);
    // Copied through JSON, as everything crossing this store: the caller keeps no alias.
    const copy = <V>(map: ReadonlyMap<string, V>): Map<string, V> => new Map(jsonCopy([...map]));
    this.executions.set(state.executionId, {
      ...state,
      input: jsonCopy(state.input ?? null),
      presets: [...state.presets],
      ...(state.error ? { error: jsonCopy(state.error) } : {}),
      statuses: copy(state.statuses), results: copy(state.results), pending: copy(state.pending), taken: copy(state.taken),
      children: copy(state.children), maps: copy(state.maps), items: copy(state.items),
    });
    return Promise.resolve(true);
  }

  getExecution(executionId: string): Promise<HotExecution | null> {
    const state = this.executions.get(executionId);
    return Promise.resolve(state ? jsonCopy(toHotExecution(state)) : null);
  }

  recordSpend(input: { executionId: string; nodeId: string; spend: Spend }): Promise<void> {
    let nodes = this.spent.get(input.executionId);
    if (!nodes) {
      nodes = new Map();
      this.spent.set(input.executionId, nodes);
    }
    const counters = nodes.get(input.nodeId) ?? {};
    for (const [field, value] of Object.entries(spendIncrements(input.spend))) counters[field] = (counters[field] ?? 0) + value;
    nodes.set(input.nodeId, counters);
    return Promise.resolve();
  }

  getSpend(executionId: string): Promise<Record<string, Spend>> {
    const nodes = this.spent.get(executionId);
    if (!nodes) return Promise.resolve({});
    return Promise.resolve(Object.fromEntries([...nodes].map(([nodeId, counters]) => [nodeId, spendFromCounters(counters)])));
  }

  expireExecution(executionId: string, ttlSeconds: number): Promise<boolean> {
    // As EXPIRE on a missing key: nothing, and no timer that would delete a later execution.
    const state = this.executions.get(executionId);
    if (!state) return Promise.resolve(true);
    // Re-opened since its end (a retry racing the flush): running again, no TTL.
    if (state.status === 'running' || state.status === 'waiting' || state.status === 'queued') return Promise.resolve(false);
    clearTimeout(this.expiries.get(executionId));
    this.expiries.delete(executionId);
    const forget = (): void => {
      this.expiries.delete(executionId);
      this.executions.delete(executionId);
      this.spent.delete(executionId);
      this.events.forgetExecution(executionId);
    };
    // As Redis EXPIRE: a TTL that is not positive deletes at once.
    if (ttlSeconds <= 0) {
      forget();
    } else {
      // unref: a pending expiry must not keep an embedded process alive.
      this.expiries.set(executionId, setTimeout(forget, ttlSeconds * 1000).unref());
    }
    return Promise.resolve(true);
  }

  appendFlush(entries: readonly FlushEntry[]): Promise<void> {
    for (const entry of entries) this.flushQueue.push({ id: this.nextFlushId(), entry: jsonCopy(entry) });
    if (entries.length > 0) for (const wake of [...this.flushWaiters]) wake();
    return Promise.resolve();
  }

  /** `blockMs` ≤ 0 does not block, as in the Redis adapter. */
  async readFlush(consumer: string, count: number, blockMs: number): Promise<FlushRecord[]> {
    if (count <= 0) return [];
    const records = this.takeFlush(consumer, count);
    if (records.length > 0 || blockMs <= 0) return records;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.flushWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, blockMs);
      this.flushWaiters.add(wake);
    });
    return this.takeFlush(consumer, count);
  }

  ackFlush(ids: readonly string[]): Promise<void> {
    const acked = new Set(ids);
    for (const id of ids) this.flushPending.delete(id);
    // As XDEL: an acknowledged id is gone even if it was never delivered.
    const kept = this.flushQueue.filter((record) => !acked.has(record.id));
    this.flushQueue.splice(0, this.flushQueue.length, ...kept);
    return Promise.resolve();
  }

  close(): Promise<void> {
    for (const timer of this.expiries.values()) clearTimeout(timer);
    this.expiries.clear();
    for (const wake of [...this.flushWaiters]) wake();
    return Promise.resolve();
  }

  private append(drafts: readonly EventDraft[]): WeftEvent[] {
    return drafts.map((draft) => this.events.append(draft));
  }

  /** Stale deliveries first (a dead consumer's entries), then new entries, like XAUTOCLAIM + XREADGROUP. */
  private takeFlush(consumer: string, count: number): FlushRecord[] {
    const now = Date.now();
    const records: FlushRecord[] = [];
    for (const pending of this.flushPending.values()) {
      if (records.length >= count) break;
      if (now - pending.deliveredAt < this.flushClaimIdleMs) continue;
      pending.consumer = consumer;
      pending.deliveredAt = now;
      records.push(pending.record);
    }
    while (records.length < count) {
      const record = this.flushQueue.shift();
      if (!record) break;
      this.flushPending.set(record.id, { record, consumer, deliveredAt: now });
      records.push(record);
    }
    return records.map((r) => ({ id: r.id, entry: jsonCopy(r.entry) }));
  }

  private nextFlushId(): string {
    const now = Date.now();
    if (now > this.flushLastMs) {
      this.flushLastMs = now;
      this.flushLastSeq = 0;
    } else {
      this.flushLastSeq += 1;
    }
    return `${this.flushLastMs}-${this.flushLastSeq}`;
  }
}

/** Runs a synchronous step; a throw becomes a rejection, as an adapter doing I/O would give. */
function settle<T>(step: () => T): Promise<T> {
  // The executor's throw rejects the promise.
  return new Promise((resolve) => {
    resolve(step());
  });
}

function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
