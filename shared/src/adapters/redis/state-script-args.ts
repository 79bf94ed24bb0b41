/**
 * Argument builders of the state store's Lua scripts, one per script, in the manner of BullMQ's
 * `scripts.ts`: each answers the script to call with its KEYS and ARGV in the order its file's
 * header lists them. Keep a builder and its script's header in step.
 */
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
} from '../../engine/apply-commit.js';
import { cancelledMapError } from '../../engine/apply-control.js';
import { newMapRecord } from '../../engine/apply-map.js';
import type { ExecutionState } from '../../engine/hot-state.js';
import { parseMapItemNodeId } from '../../flow/index.js';
import type { NodeError } from '../../model/index.js';
import type { CommitNodeInput, InitExecutionInput, StartMapInput, StartNodeInput } from '../../ports/state-store.js';
import { EVENT_STREAM_MAXLEN, eventsChannelArg, executionKeys, type ExecutionKeys } from './keys.js';
import type { ScriptArg, WeftScriptName } from './lua/scripts.js';

/** One script call: which script, its KEYS and its ARGV. */
export interface ScriptCall {
  script: WeftScriptName;
  keys: string[];
  args: ScriptArg[];
}

/** The keys of an execution's graph, KEYS[1..7] of the graph scripts. */
function graphKeys(k: ExecutionKeys): string[] {
  return [k.meta, k.results, k.status, k.pending, k.taken, k.children, k.events];
}

/** graphKeys and the map hashes, KEYS[1..10]: what scripts that may expand or end a map touch. */
function mapGraphKeys(k: ExecutionKeys): string[] {
  return [...graphKeys(k), k.maps, k.items, k.slots];
}

/**
 * ARGV[4] and ARGV[5] of the scripts that append events: the channel argument (one server: the
 * prefix, the script appends the execution's workspaceId; `sharded`, a Redis Cluster: the
 * execution's slot channel, `eventsChannelArg`) and the stream's MAXLEN.
 */
function eventArgs(prefix: string, executionId: string, sharded: boolean): ScriptArg[] {
  return [eventsChannelArg(prefix, { executionId }, sharded), EVENT_STREAM_MAXLEN];
}

/**
 * What the graph scripts write when they release, skip or complete (graph includes): queued and
 * pending statuses, the skipped result and node.skipped data, execution.completed data.
 */
function graphShapes(at: string): { queued: string; pending: string; skipped: string; skippedData: string; completedData: string } {
  return {
    queued: JSON.stringify(queuedStatus()),
    pending: JSON.stringify(pendingStatus()),
    skipped: JSON.stringify(skippedResult(at)),
    skippedData: JSON.stringify(nodeSkippedData()),
    completedData: JSON.stringify(executionCompletedData()),
  };
}

/**
 * How long the mark of an execution ended without hot state lives (cancel-execution.lua): longer
 * than its execution job can sit between claiming the row and writing hot state (retried while
 * Redis is unreachable), short enough that marks do not pile up.
 */
export const ENDED_MARK_TTL_SECONDS = 86_400;

/** init-execution.lua */
export function initExecutionArgs(prefix: string, input: InitExecutionInput, sharded = false): ScriptCall {
  const presets = presetEntries(input);
  const k = executionKeys(prefix, input.executionId);
  return {
    script: 'weftInitExecution',
    keys: [...graphKeys(k), k.ended],
    args: [
      input.executionId, input.workspaceId, input.flowId, input.flowVersion, JSON.stringify(input.input ?? null), input.at,
      eventsChannelArg(prefix, input, sharded), EVENT_STREAM_MAXLEN, JSON.stringify(executionStartedData(input.flowVersion)),
      JSON.stringify(queuedStatus()), JSON.stringify(pendingStatus()), startRootArg(input),
      JSON.stringify(presets.map(([id]) => id)),
      ...presets.flatMap(([id, result]) => [id, JSON.stringify(result)]),
      ...input.nodes.flatMap((node) => [node.id, String(node.parentCount), JSON.stringify(node.children)]),
    ],
  };
}

/** ARGV[12] of init-execution.lua: the root to start, as start-node.lua would (attempt 1). */
function startRootArg(input: InitExecutionInput): string {
  const root = input.startRoot;
  if (!root) return '';
  const start = { attempt: 1, workerId: root.workerId, at: input.at };
  return JSON.stringify({ id: root.nodeId, running: JSON.stringify(runningStatus(start)), data: JSON.stringify(nodeStartedData(start)), reads: root.readResultsOf });
}

/** start-node.lua */
export function startNodeArgs(prefix: string, input: StartNodeInput, sharded = false): ScriptCall {
  const k = executionKeys(prefix, input.executionId);
  const item = input.mapItem;
  return {
    script: 'weftStartNode',
    keys: [k.meta, k.results, k.status, k.children, k.events, k.maps, k.items],
    args: [
      input.executionId, input.nodeId, input.at, ...eventArgs(prefix, input.executionId, sharded),
      JSON.stringify(runningStatus(input)), JSON.stringify(nodeStartedData(input)),
      item?.mapId ?? '', item?.index ?? 0, item?.round ?? 0, ...input.readResultsOf,
    ],
  };
}

/** wait-node.lua */
export function waitNodeArgs(prefix: string, input: { executionId: string; nodeId: string; at: string; tokenHash: string | null; data: Record<string, unknown> }, sharded = false): ScriptCall {
  const k = executionKeys(prefix, input.executionId);
  return {
    script: 'weftWaitNode',
    keys: [k.meta, k.results, k.status, k.events],
    args: [input.executionId, input.nodeId, input.at, ...eventArgs(prefix, input.executionId, sharded), input.tokenHash ?? '', JSON.stringify(input.data)],
  };
}

/** cancel-execution.lua */
export function cancelExecutionArgs(prefix: string, input: { executionId: string; at: string; endAs?: { status: 'failed'; error: NodeError } }, sharded = false): ScriptCall {
  const k = executionKeys(prefix, input.executionId);
  const endAs = input.endAs;
  return {
    script: 'weftCancelExecution',
    keys: [k.meta, k.status, k.events, k.results, k.maps, k.pending, k.taken, k.children, k.ended],
    args: [
      input.executionId, input.at, ...eventArgs(prefix, input.executionId, sharded),
      JSON.stringify(endAs ? { status: 'failed', error: endAs.error } : { status: 'cancelled' }),
      endAs ? 'failed' : 'cancelled', endAs ? JSON.stringify(endAs.error) : '', JSON.stringify(endAs ? endAs.error : cancelledMapError()),
      ENDED_MARK_TTL_SECONDS,
    ],
  };
}

/** reopen-nodes.lua */
export function reopenNodesArgs(prefix: string, input: { executionId: string; nodeIds: readonly string[]; at: string }, sharded = false): ScriptCall {
  const k = executionKeys(prefix, input.executionId);
  return {
    script: 'weftReopenNodes',
    keys: [...graphKeys(k), k.spent, k.maps, k.items, k.slots, k.blobs, k.leases],
    args: [
      input.executionId, input.at, ...eventArgs(prefix, input.executionId, sharded), JSON.stringify(input.nodeIds),
      JSON.stringify(pendingStatus()), JSON.stringify(queuedStatus()), JSON.stringify({ reopened: input.nodeIds }),
    ],
  };
}

/** Arguments of one step of commit-node.lua (the script's ARGV holds one or more). */
const COMMIT_ARGS_PER_STEP = 24;

/**
 * commit-node.lua for a fused run (StateStore.commitNodes): the steps' arguments one after
 * another, in order, on the keys of their one execution.
 */
export function commitNodesArgs(prefix: string, inputs: readonly CommitNodeInput[], flushStream?: string, sharded = false): ScriptCall {
  const calls = inputs.map((input) => commitNodeArgs(prefix, input, flushStream, sharded));
  const [first] = calls;
  if (!first || inputs.some((input) => input.executionId !== inputs[0]?.executionId)) throw new Error('commitNodes takes one or more steps of one execution');
  // The script splits its ARGV into steps of this many (ARGS_PER_STEP in commit-node.lua).
  if (calls.some((call) => call.args.length !== COMMIT_ARGS_PER_STEP)) throw new Error(`a commit-node step takes ${COMMIT_ARGS_PER_STEP} arguments`);
  return { script: first.script, keys: first.keys, args: calls.flatMap((call) => call.args) };
}

/**
 * commit-node.lua, one step. `flushStream`: the flush stream's key where the commit may append
 * the node's flush entry (one Redis server); undefined on a cluster, where the stream is in
 * another slot.
 */
export function commitNodeArgs(prefix: string, input: CommitNodeInput, flushStream?: string, sharded = false): ScriptCall {
  const nodeEvent = nodeResultEvent(input.result);
  const shapes = graphShapes(input.at);
  const k = executionKeys(prefix, input.executionId);
  const eager = input.eager;
  const flushHead = flushStream !== undefined && input.flush
    ? `${JSON.stringify({ kind: 'node', executionId: input.executionId, nodeId: input.nodeId, ...input.flush }).slice(0, -1)},"result":`
    : '';
  return {
    script: 'weftCommitNode',
    keys: [...mapGraphKeys(k), k.leases, flushHead === '' || flushStream === undefined ? k.leases : flushStream],
    args: [
      input.executionId, input.nodeId, input.at, ...eventArgs(prefix, input.executionId, sharded),
      JSON.stringify(input.result), nodeEvent.type, JSON.stringify(nodeEvent.data), JSON.stringify(input.takenChildren),
      input.failExecution ? '1' : '0', JSON.stringify(executionFailedData(input.result, input.nodeId)),
      shapes.queued, shapes.skipped, shapes.skippedData, shapes.completedData, shapes.pending,
      // Only a map item's node may fill its item's slot with its output.
      input.result.status === 'completed' && parseMapItemNodeId(input.nodeId) !== null ? JSON.stringify(input.result.output ?? null) : '',
      input.soft ? '1' : '0',
      eager && eager.candidates.length > 0
        ? JSON.stringify(eager.candidates.map((c) => ({ id: c.nodeId, reads: c.readResultsOf, ...(c.mapItem ? { map: c.mapItem.mapId, index: c.mapItem.index } : {}) })))
        : '',
      eager?.leaseJobId ?? '',
      eager ? JSON.stringify(runningStatus({ attempt: 1, at: input.at, workerId: eager.workerId })) : '',
      eager ? JSON.stringify(nodeStartedData({ attempt: 1, workerId: eager.workerId })) : '',
      flushHead,
      String(Math.max(1, eager?.max ?? 1)),
    ],
  };
}

/** ready-after.lua (its ARGV[4..5] are unused and passed empty). */
export function readyAfterArgs(prefix: string, input: { executionId: string; nodeId: string; leaseJobId?: string }): ScriptCall {
  const k = executionKeys(prefix, input.executionId);
  return {
    script: 'weftReadyAfter',
    keys: [...mapGraphKeys(k), k.leases],
    args: [input.executionId, input.nodeId, input.leaseJobId ?? '', '', ''],
  };
}

/** start-map.lua */
export function startMapArgs(prefix: string, input: StartMapInput, sharded = false): ScriptCall {
  const shapes = graphShapes(input.at);
  return {
    script: 'weftStartMap',
    keys: mapGraphKeys(executionKeys(prefix, input.executionId)),
    args: [
      input.executionId, input.nodeId, input.at, ...eventArgs(prefix, input.executionId, sharded),
      JSON.stringify(newMapRecord(input)), shapes.queued, shapes.pending, shapes.skipped, shapes.skippedData, shapes.completedData,
      ...input.items.map((item) => JSON.stringify(item ?? null)),
    ],
  };
}

/** timeout-map.lua */
export function timeoutMapArgs(prefix: string, input: { executionId: string; nodeId: string; round: number; at: string; error: NodeError }, sharded = false): ScriptCall {
  const shapes = graphShapes(input.at);
  return {
    script: 'weftTimeoutMap',
    keys: mapGraphKeys(executionKeys(prefix, input.executionId)),
    args: [
      input.executionId, input.nodeId, input.at, ...eventArgs(prefix, input.executionId, sharded), input.round, JSON.stringify(input.error),
      shapes.queued, shapes.pending, shapes.skipped, shapes.skippedData, shapes.completedData,
    ],
  };
}

/** restore-execution.lua */
export function restoreExecutionArgs(prefix: string, state: ExecutionState): ScriptCall {
  const k = executionKeys(prefix, state.executionId);
  const meta: Record<string, string> = {
    workspaceId: state.workspaceId, flowId: state.flowId, flowVersion: String(state.flowVersion), status: state.status,
    input: JSON.stringify(state.input ?? null), total: String(state.total), remaining: String(state.remaining), presets: JSON.stringify(state.presets),
    ...(state.startedAt === null ? {} : { startedAt: state.startedAt }),
    ...(state.finishedAt === null ? {} : { finishedAt: state.finishedAt }),
    ...(state.error ? { error: JSON.stringify(state.error) } : {}),
  };
  const json = <V>(map: ReadonlyMap<string, V>): string => JSON.stringify(Object.fromEntries([...map].map(([id, v]) => [id, JSON.stringify(v)])));
  return {
    script: 'weftRestoreExecution',
    keys: [k.meta, k.results, k.status, k.pending, k.taken, k.children],
    args: [
      JSON.stringify(meta), json(state.results), json(state.statuses),
      JSON.stringify(Object.fromEntries(state.pending)), JSON.stringify(Object.fromEntries(state.taken)), json(state.children),
    ],
  };
}

/** expire-execution.lua: every key of the execution, meta first. */
export function expireExecutionArgs(prefix: string, input: { executionId: string; ttlSeconds: number }): ScriptCall {
  const k = executionKeys(prefix, input.executionId);
  return { script: 'weftExpireExecution', keys: [...mapGraphKeys(k), k.spent, k.blobs, k.leases], args: [input.ttlSeconds] };
}
