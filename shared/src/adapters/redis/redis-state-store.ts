import type { NodeError } from '../../model/index.js';
import type { Redis } from 'ioredis';
import {
  executionCompletedData,
  executionFailedData,
  executionStartedData,
  nodeResultEvent,
  nodeSkippedData,
  nodeStartedData,
  pendingStatus,
  presetEntries,
  queuedStatus,
  runningStatus,
  skippedResult,
  toHotExecution,
  type NodeStatusEntry,
} from '../../engine/apply-commit.js';
import type { HotExecution, NodeResult } from '../../model/index.js';
import type { ExecutionState } from '../../engine/hot-state.js';
import { cancelledMapError } from '../../engine/apply-control.js';
import { newMapRecord } from '../../engine/apply-map.js';
import { WeftError } from '../../errors/weft-error.js';
import type {
  CommitNodeInput,
  CommitNodeResult,
  InitExecutionInput,
  InitExecutionResult,
  SettledMap,
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
import { EVENT_STREAM_MAXLEN, eventsChannel, executionKeys } from './keys.js';
import { defineWeftScripts, type WeftScripts } from './lua/scripts.js';
import { asArray, asEvents, asExecutionStatus, asFlag, asStatusEntry, asString, asStrings, execResults, malformed, parseJson } from './redis-replies.js';

export interface RedisStateStoreOptions {
  /** Shared command connection; the caller owns (and closes) it. */
  redis: Redis;
  prefix: string;
}

/** Execution hot state in Redis hashes; every state change is one Lua script (lua/). */
export class RedisStateStore implements StateStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly scripts: WeftScripts;

  constructor(options: RedisStateStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.scripts = defineWeftScripts(options.redis);
  }

  async initExecution(input: InitExecutionInput): Promise<InitExecutionResult> {
    const nodeArgs: string[] = [];
    for (const node of input.nodes) nodeArgs.push(node.id, String(node.parentCount), JSON.stringify(node.children));
    const presets = presetEntries(input);
    const presetArgs = presets.flatMap(([id, result]) => [id, JSON.stringify(result)]);
    const reply = asArray(await this.scripts.weftInitExecution(this.keyList(input.executionId), [
      input.executionId, input.workspaceId, input.flowId, input.flowVersion, JSON.stringify(input.input ?? null), input.at,
      eventsChannel(this.prefix, input.workspaceId), EVENT_STREAM_MAXLEN, JSON.stringify(executionStartedData(input.flowVersion)),
      JSON.stringify(queuedStatus()), JSON.stringify(pendingStatus()), JSON.stringify(presets.map(([id]) => id)), ...presetArgs, ...nodeArgs,
    ]));
    return {
      created: asFlag(reply[0]),
      status: asExecutionStatus(reply[1]),
      ready: asStrings(reply[2]),
      events: asEvents(reply[3]),
    };
  }

  async startNode(input: StartNodeInput): Promise<StartNodeResult> {
    const keys = executionKeys(this.prefix, input.executionId);
    const item = input.mapItem;
    const reply = asArray(await this.scripts.weftStartNode([keys.meta, keys.results, keys.status, keys.children, keys.events, keys.maps, keys.items], [
      input.executionId, input.nodeId, input.at, eventsChannel(this.prefix, ''), EVENT_STREAM_MAXLEN,
      JSON.stringify(runningStatus(input)), JSON.stringify(nodeStartedData(input)),
      item?.mapId ?? '', item?.index ?? 0, item?.round ?? 0, ...input.readResultsOf,
    ]));
    const kind = reply[0];
    switch (kind) {
      case 'missing':
        return { kind: 'missing' };
      case 'gone':
        return { kind: 'gone' };
      case 'unknown-node':
        throw unknownNode(input);
      case 'execution-ended':
        return { kind: 'execution-ended', status: asExecutionStatus(reply[1]) };
      case 'node-terminal':
        return { kind: 'node-terminal' };
      case 'started': {
        const flat = asStrings(reply[2]);
        const results: Record<string, NodeResult> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const [id, json] = [flat[i], flat[i + 1]];
          if (id !== undefined && json !== undefined) results[id] = parseJson(json) as NodeResult;
        }
        const started = { kind: 'started' as const, input: parseJson(asString(reply[1])), results, events: asEvents(reply[3]) };
        return item ? { ...started, item: parseJson(asString(reply[4])) } : started;
      }
      default:
        throw malformed('start-node reply');
    }
  }

  async waitNode(input: { executionId: string; nodeId: string; at: string; tokenHash: string | null; data: Record<string, unknown> }): Promise<WaitNodeResult> {
    const k = executionKeys(this.prefix, input.executionId);
    const reply = asArray(await this.scripts.weftWaitNode([k.meta, k.results, k.status, k.events], [
      input.executionId, input.nodeId, input.at, eventsChannel(this.prefix, ''), EVENT_STREAM_MAXLEN, input.tokenHash ?? '', JSON.stringify(input.data),
    ]));
    switch (reply[0]) {
      case 'missing':
        return { kind: 'missing' };
      case 'node-terminal':
        return { kind: 'node-terminal' };
      case 'execution-ended':
        return { kind: 'execution-ended', status: asExecutionStatus(reply[1]) };
      case 'ok':
        return { kind: 'waiting', events: asEvents(reply[1]) };
      default:
        throw malformed('wait-node reply');
    }
  }

  async cancelExecution(input: { executionId: string; at: string; endAs?: { status: 'failed'; error: NodeError } }): Promise<CancelExecutionResult> {
    const k = executionKeys(this.prefix, input.executionId);
    const endAs = input.endAs;
    const reply = asArray(await this.scripts.weftCancelExecution([k.meta, k.status, k.events, k.results, k.maps, k.pending, k.taken, k.children], [
      input.executionId, input.at, eventsChannel(this.prefix, ''), EVENT_STREAM_MAXLEN,
      JSON.stringify(endAs ? { status: 'failed', error: endAs.error } : { status: 'cancelled' }),
      endAs ? 'failed' : 'cancelled', endAs ? JSON.stringify(endAs.error) : '', JSON.stringify(endAs ? endAs.error : cancelledMapError()),
    ]));
    switch (reply[0]) {
      case 'missing':
        return { kind: 'missing' };
      case 'ended':
        return { kind: 'ended', status: asExecutionStatus(reply[1]) };
      case 'ok':
        return { kind: 'cancelled', running: asStrings(reply[1]), queued: asStrings(reply[2]), mapRounds: asRounds(reply[4]), events: asEvents(reply[3]) };
      default:
        throw malformed('cancel-execution reply');
    }
  }

  async reopenNodes(input: { executionId: string; nodeIds: readonly string[]; at: string }): Promise<ReopenNodesResult> {
    const k = executionKeys(this.prefix, input.executionId);
    const keys = [...this.keyList(input.executionId), k.spent, k.maps, k.items, k.slots];
    const reply = asArray(await this.scripts.weftReopenNodes(keys, [
      input.executionId, input.at, eventsChannel(this.prefix, ''), EVENT_STREAM_MAXLEN, JSON.stringify(input.nodeIds),
      JSON.stringify(pendingStatus()), JSON.stringify(queuedStatus()), JSON.stringify({ reopened: input.nodeIds }),
    ]));
    switch (reply[0]) {
      case 'missing':
        return { kind: 'missing' };
      case 'not-failed':
        return { kind: 'not-failed', nodeId: asString(reply[1]) };
      case 'ok':
        return { kind: 'reopened', ready: asStrings(reply[1]), events: asEvents(reply[2]) };
      default:
        throw malformed('reopen-nodes reply');
    }
  }

  async commitNode(input: CommitNodeInput): Promise<CommitNodeResult> {
    const nodeEvent = nodeResultEvent(input.result);
    const reply = asArray(await this.scripts.weftCommitNode(this.mapKeyList(input.executionId), [
      input.executionId, input.nodeId, input.at, eventsChannel(this.prefix, ''), EVENT_STREAM_MAXLEN,
      JSON.stringify(input.result), nodeEvent.type, JSON.stringify(nodeEvent.data), JSON.stringify(input.takenChildren),
      input.failExecution ? '1' : '0', JSON.stringify(executionFailedData(input.result, input.nodeId)),
      JSON.stringify(queuedStatus()), JSON.stringify(skippedResult(input.at)), JSON.stringify(nodeSkippedData()),
      JSON.stringify(executionCompletedData()), JSON.stringify(pendingStatus()),
      input.result.status === 'completed' ? JSON.stringify(input.result.output ?? null) : '',
    ]));
    switch (reply[0]) {
      case 'missing':
        throw new WeftError('EXECUTION_STATE_MISSING', `no hot state for execution ${input.executionId}`);
      case 'unknown-node':
        throw unknownNode(input);
      case 'ok':
        return {
          committed: asFlag(reply[1]),
          executionStatus: asExecutionStatus(reply[2]),
          finished: asFlag(reply[3]),
          ready: asStrings(reply[4]),
          skipped: asStrings(reply[5]),
          events: asEvents(reply[6]),
          settledMaps: asSettled(reply[7]),
          round: Number(reply[8]),
        };
      default:
        throw malformed('commit-node reply');
    }
  }

  async readyAfter(input: { executionId: string; nodeId: string }): Promise<{ ready: string[]; round: number } | null> {
    const reply = asArray(await this.scripts.weftReadyAfter(this.mapKeyList(input.executionId), [input.executionId, input.nodeId, '', '', '']));
    switch (reply[0]) {
      case 'missing':
        return null;
      case 'unknown-node':
        throw unknownNode(input);
      case 'ok':
        return { ready: asStrings(reply[1]), round: Number(reply[2]) };
      default:
        throw malformed('ready-after reply');
    }
  }

  async startMap(input: StartMapInput): Promise<StartMapResult> {
    const reply = asArray(await this.scripts.weftStartMap(this.mapKeyList(input.executionId), [
      input.executionId, input.nodeId, input.at, eventsChannel(this.prefix, ''), EVENT_STREAM_MAXLEN,
      JSON.stringify(newMapRecord(input)), JSON.stringify(queuedStatus()), JSON.stringify(pendingStatus()),
      JSON.stringify(skippedResult(input.at)), JSON.stringify(nodeSkippedData()), JSON.stringify(executionCompletedData()),
      ...input.items.map((item) => JSON.stringify(item ?? null)),
    ]));
    switch (reply[0]) {
      case 'missing':
        return { kind: 'missing' };
      case 'execution-ended':
        return { kind: 'execution-ended', status: asExecutionStatus(reply[1]) };
      case 'node-terminal':
        return { kind: 'node-terminal' };
      case 'ok':
        return {
          kind: 'started',
          resumed: asFlag(reply[1]),
          round: Number(reply[2]),
          reset: Number(reply[3]),
          ready: asStrings(reply[4]),
          settledMaps: asSettled(reply[5]),
          executionStatus: asExecutionStatus(reply[6]),
          finished: asFlag(reply[7]),
          events: asEvents(reply[8]),
        };
      default:
        throw malformed('start-map reply');
    }
  }

  async timeoutMap(input: { executionId: string; nodeId: string; round: number; at: string; error: NodeError }): Promise<TimeoutMapResult> {
    const reply = asArray(await this.scripts.weftTimeoutMap(this.mapKeyList(input.executionId), [
      input.executionId, input.nodeId, input.at, eventsChannel(this.prefix, ''), EVENT_STREAM_MAXLEN, input.round, JSON.stringify(input.error),
      JSON.stringify(queuedStatus()), JSON.stringify(pendingStatus()), JSON.stringify(skippedResult(input.at)), JSON.stringify(nodeSkippedData()),
      JSON.stringify(executionCompletedData()),
    ]));
    switch (reply[0]) {
      case 'missing':
        return { kind: 'missing' };
      case 'not-running':
        return { kind: 'not-running' };
      case 'ok':
        return {
          kind: 'ended',
          running: asStrings(reply[1]),
          ready: asStrings(reply[2]),
          settledMaps: asSettled(reply[3]),
          executionStatus: asExecutionStatus(reply[4]),
          finished: asFlag(reply[5]),
          events: asEvents(reply[6]),
        };
      default:
        throw malformed('timeout-map reply');
    }
  }

  async getExecution(executionId: string): Promise<HotExecution | null> {
    const keys = executionKeys(this.prefix, executionId);
    // One transaction: the three hashes are read as of one instant.
    const replies = await this.redis.multi().hgetall(keys.meta).hgetall(keys.status).hgetall(keys.results).exec();
    const [meta, statusHash, resultHash] = execResults(replies) as [Record<string, string>, Record<string, string>, Record<string, string>];
    if (meta.status === undefined) return null;
    const statuses = new Map<string, NodeStatusEntry>();
    for (const [id, json] of Object.entries(statusHash)) statuses.set(id, asStatusEntry(parseJson(json)));
    const results = new Map<string, NodeResult>();
    for (const [id, json] of Object.entries(resultHash)) results.set(id, parseJson(json) as NodeResult);
    return toHotExecution({
      executionId,
      workspaceId: meta.workspaceId ?? '',
      flowId: meta.flowId ?? '',
      flowVersion: Number(meta.flowVersion),
      status: asExecutionStatus(meta.status),
      input: meta.input === undefined ? null : parseJson(meta.input),
      startedAt: meta.startedAt ?? null,
      finishedAt: meta.finishedAt ?? null,
      statuses,
      results,
      // Absent in hot state written before presets existed.
      presets: meta.presets === undefined ? [] : (parseJson(meta.presets) as string[]),
      ...(meta.error === undefined ? {} : { error: parseJson(meta.error) as NodeError }),
    });
  }

  async existingExecutions(executionIds: readonly string[]): Promise<Set<string>> {
    if (executionIds.length === 0) return new Set();
    const tx = this.redis.pipeline();
    for (const id of executionIds) tx.exists(executionKeys(this.prefix, id).meta);
    const replies = execResults(await tx.exec());
    return new Set(executionIds.filter((_id, i) => replies[i] === 1));
  }

  async restoreExecution(state: ExecutionState): Promise<boolean> {
    if (state.maps.size > 0) throw new WeftError('INTERNAL_ERROR', 'a rebuilt execution has no expanded map: its maps run again', { category: 'permanent' });
    const k = executionKeys(this.prefix, state.executionId);
    const meta: Record<string, string> = {
      workspaceId: state.workspaceId, flowId: state.flowId, flowVersion: String(state.flowVersion), status: state.status,
      input: JSON.stringify(state.input ?? null), total: String(state.total), remaining: String(state.remaining), presets: JSON.stringify(state.presets),
      ...(state.startedAt === null ? {} : { startedAt: state.startedAt }),
      ...(state.finishedAt === null ? {} : { finishedAt: state.finishedAt }),
      ...(state.error ? { error: JSON.stringify(state.error) } : {}),
    };
    const json = <V>(map: ReadonlyMap<string, V>): string => JSON.stringify(Object.fromEntries([...map].map(([id, v]) => [id, JSON.stringify(v)])));
    const reply = await this.scripts.weftRestoreExecution([k.meta, k.results, k.status, k.pending, k.taken, k.children], [
      JSON.stringify(meta), json(state.results), json(state.statuses),
      JSON.stringify(Object.fromEntries(state.pending)), JSON.stringify(Object.fromEntries(state.taken)), json(state.children),
    ]);
    return asFlag(reply);
  }

  async expireExecution(executionId: string, ttlSeconds: number): Promise<boolean> {
    const k = executionKeys(this.prefix, executionId);
    return asFlag(await this.scripts.weftExpireExecution([...this.mapKeyList(executionId), k.spent], [ttlSeconds]));
  }

  close(): Promise<void> {
    // The connection is the caller's.
    return Promise.resolve();
  }

  private keyList(executionId: string): string[] {
    const k = executionKeys(this.prefix, executionId);
    return [k.meta, k.results, k.status, k.pending, k.taken, k.children, k.events];
  }

  /** keyList and the map hashes: what scripts that may expand or end a map touch. */
  private mapKeyList(executionId: string): string[] {
    const k = executionKeys(this.prefix, executionId);
    return [...this.keyList(executionId), k.maps, k.items, k.slots];
  }
}

/** Map rounds as cancel-execution.lua answers them: id, round, id, round… */
function asRounds(value: unknown): Record<string, number> {
  const flat = asArray(value);
  const rounds: Record<string, number> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) rounds[asString(flat[i])] = Number(flat[i + 1]);
  return rounds;
}

/** Settled maps as scripts answer them: id, result JSON, id, result JSON… */
function asSettled(value: unknown): SettledMap[] {
  const flat = asStrings(value);
  const settled: SettledMap[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) settled.push({ nodeId: flat[i] ?? '', result: parseJson(flat[i + 1] ?? 'null') as NodeResult });
  return settled;
}

function unknownNode(input: { executionId: string; nodeId: string }): WeftError {
  // Retrying cannot make a node appear in a pinned graph.
  return new WeftError('INTERNAL_ERROR', `node ${input.nodeId} is not part of execution ${input.executionId}`, { category: 'permanent' });
}
