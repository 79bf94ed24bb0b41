import { applyCommit, applyInit, applyReadyAfter, applyStart, toHotExecution, type ExecutionState } from '../../engine/apply-commit.js';
import { applyCancel, applyReopen, applyWait } from '../../engine/apply-control.js';
import { applyStartMap, applyTimeoutMap } from '../../engine/apply-map.js';
import type { BlobAddress } from '../../engine/output-ref.js';
import { WeftError } from '../../errors/weft-error.js';
import { eventSummaries, type EventDraft, type ExecutionStatus, type HotExecution, type NodeError, type WeftEvent } from '../../model/index.js';
import type {
  CommitNodeInput,
  CommitNodeResult,
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
  ResumeLinkClaim,
} from '../../ports/state-store.js';
import type { MemoryEventBus } from './memory-event-bus.js';
import type { MemorySpendLedger } from './memory-spend-ledger.js';

export interface MemoryStateStoreOptions {
  /** The bus the store appends its events to, inside each transition. */
  events: MemoryEventBus;
  /** The spend ledger whose entries expire with an execution's hot state, as its Redis hash does. */
  spendLedger?: MemorySpendLedger;
}

/**
 * Embedded-mode hot state. Each call is one synchronous step (apply a pure transition from
 * engine/apply-commit.ts, store the next state, append its events), hence as atomic as the Redis
 * scripts. Values cross the boundary through JSON, as they do through Redis, so that neither
 * side can alias the other's objects and both adapters hand back the same shapes.
 */
export class MemoryStateStore implements StateStore {
  private readonly events: MemoryEventBus;
  private readonly spendLedger: MemorySpendLedger | undefined;
  private readonly executions = new Map<string, ExecutionState>();
  private readonly expiries = new Map<string, NodeJS.Timeout>();
  /** Offloaded outputs (claim check): execution id → blob id → JSON text; forgotten with the execution. */
  private readonly blobs = new Map<string, Map<string, string>>();
  /** Used resume links: key → expiry (epoch ms); expired ones are dropped as claims come. */
  private readonly resumeClaims = new Map<string, number>();
  /**
   * Executions ended while they had no hot state → the status they ended with (the ended mark of
   * cancel-execution.lua): their init writes none. Bounded, oldest out.
   */
  private readonly endedMarks = new Map<string, ExecutionStatus>();

  constructor(options: MemoryStateStoreOptions) {
    this.events = options.events;
    this.spendLedger = options.spendLedger;
  }

  initExecution(input: InitExecutionInput): Promise<InitExecutionResult> {
    return settle((): InitExecutionResult => {
      const endedAs = this.executions.has(input.executionId) ? undefined : this.endedMarks.get(input.executionId);
      if (endedAs !== undefined) return { created: false, status: endedAs, ready: [], events: [] };
      const { state, outcome } = applyInit(this.executions.get(input.executionId), { ...input, input: jsonCopy(input.input ?? null) });
      this.executions.set(input.executionId, state);
      return { ...outcome, events: this.append(outcome.events), ...(outcome.root ? { root: jsonCopy(outcome.root) } : {}) };
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

  readyAfter(input: { executionId: string; nodeId: string; leaseJobId?: string }): Promise<{ ready: string[]; round: number } | null> {
    return settle(() => applyReadyAfter(this.executions.get(input.executionId), input.nodeId, input.leaseJobId) ?? null);
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
      if (outcome.kind === 'missing') this.markEnded(input.executionId, input.endAs ? 'failed' : 'cancelled');
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

  async commitNode(input: CommitNodeInput): Promise<CommitNodeResult> {
    const [result] = await this.commitNodes([input]);
    if (!result) throw new WeftError('INTERNAL_ERROR', 'commitNodes answered no step');
    return result;
  }

  commitNodes(inputs: readonly CommitNodeInput[]): Promise<CommitNodeResult[]> {
    return settle(() => {
      const results: CommitNodeResult[] = [];
      // As one script: every step in one synchronous pass; a throw (missing state, unknown node)
      // before the first commit leaves everything as it was (transitions are pure).
      for (const [i, input] of inputs.entries()) {
        const { state, outcome } = applyCommit(this.executions.get(input.executionId), { ...input, result: jsonCopy(input.result) });
        this.executions.set(input.executionId, state);
        const next = inputs[i + 1];
        const continues = next !== undefined && outcome.committed && outcome.eager?.nodeId === next.nodeId;
        results.push({
          ...outcome,
          ...(outcome.eager ? { eager: continues ? { nodeId: outcome.eager.nodeId, input: null, results: {} } : jsonCopy(outcome.eager) } : {}),
          ...(outcome.eagerMore ? { eagerMore: jsonCopy(outcome.eagerMore) } : {}),
          events: eventSummaries(this.append(outcome.events)),
        });
        if (!continues) break;
      }
      return results;
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

  claimResumeLink(input: ResumeLinkClaim): Promise<boolean> {
    const now = Date.now();
    for (const [key, expiresAt] of this.resumeClaims) if (expiresAt <= now) this.resumeClaims.delete(key);
    const key = resumeClaimKey(input);
    if (this.resumeClaims.has(key)) return Promise.resolve(false);
    this.resumeClaims.set(key, Math.max(now + 1000, input.expiresAtMs));
    return Promise.resolve(true);
  }

  releaseResumeLink(input: Omit<ResumeLinkClaim, 'expiresAtMs'>): Promise<void> {
    this.resumeClaims.delete(resumeClaimKey(input));
    return Promise.resolve();
  }

  getExecution(executionId: string): Promise<HotExecution | null> {
    const state = this.executions.get(executionId);
    return Promise.resolve(state ? jsonCopy(toHotExecution(state)) : null);
  }

  putBlob(input: BlobAddress & { text: string }): Promise<void> {
    const blobs = this.blobs.get(input.executionId) ?? new Map<string, string>();
    blobs.set(input.blobId, input.text);
    this.blobs.set(input.executionId, blobs);
    return Promise.resolve();
  }

  getBlobs(addresses: readonly BlobAddress[]): Promise<Array<string | null>> {
    return Promise.resolve(addresses.map((a) => this.blobs.get(a.executionId)?.get(a.blobId) ?? null));
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
      this.blobs.delete(executionId);
      this.spendLedger?.forgetExecution(executionId);
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

  private markEnded(executionId: string, status: ExecutionStatus): void {
    this.endedMarks.delete(executionId);
    this.endedMarks.set(executionId, status);
    if (this.endedMarks.size > MAX_ENDED_MARKS) {
      const oldest = this.endedMarks.keys().next().value;
      if (oldest !== undefined) this.endedMarks.delete(oldest);
    }
  }

  deleteExecutions(executionIds: readonly string[]): Promise<void> {
    for (const executionId of executionIds) {
      this.endedMarks.delete(executionId);
      clearTimeout(this.expiries.get(executionId));
      this.expiries.delete(executionId);
      this.executions.delete(executionId);
      this.blobs.delete(executionId);
      this.spendLedger?.forgetExecution(executionId);
      this.events.forgetExecution(executionId);
    }
    return Promise.resolve();
  }

  deleteWorkspaceKeys(): Promise<number> {
    // In memory, an execution's state is all there is of a workspace.
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    for (const timer of this.expiries.values()) clearTimeout(timer);
    this.expiries.clear();
    return Promise.resolve();
  }

  private append(drafts: readonly EventDraft[]): WeftEvent[] {
    return drafts.map((draft) => this.events.append(draft));
  }
}

/** Runs a synchronous step; a throw becomes a rejection, as an adapter doing I/O would give. */
/** Ended marks kept at most (Redis keeps each for ENDED_MARK_TTL_SECONDS instead). */
const MAX_ENDED_MARKS = 10_000;

function settle<T>(step: () => T): Promise<T> {
  // The executor's throw rejects the promise.
  return new Promise((resolve) => {
    resolve(step());
  });
}

function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function resumeClaimKey(input: Omit<ResumeLinkClaim, 'expiresAtMs'>): string {
  return `${input.executionId}\n${input.nodeId}\n${Date.parse(input.waitingSince)}`;
}
