/**
 * Reply decoders of the state store's Lua scripts, one per script: each turns the reply its
 * file's header lists into the port's answer, and refuses anything else as malformed.
 */
import { toHotExecution, type NodeStatusEntry } from '../../engine/apply-commit.js';
import { WeftError } from '../../errors/weft-error.js';
import type { HotExecution, NodeError, NodeResult } from '../../model/index.js';
import type {
  CancelExecutionResult,
  CommitNodeResult,
  EagerStart,
  InitExecutionResult,
  ReopenNodesResult,
  SettledMap,
  StartMapResult,
  StartNodeInput,
  StartNodeResult,
  TimeoutMapResult,
  WaitNodeResult,
} from '../../ports/state-store.js';
import { asArray, asEventSummaries, asEvents, asExecutionStatus, asFlag, asStatusEntry, asString, asStrings, malformed, parseJson } from './redis-replies.js';

interface NodeRef {
  executionId: string;
  nodeId: string;
}

/** init-execution.lua */
export function decodeInitExecution(value: unknown): InitExecutionResult {
  const reply = asArray(value);
  const decoded: InitExecutionResult = { created: asFlag(reply[0]), status: asExecutionStatus(reply[1]), ready: asStrings(reply[2]), events: asEvents(reply[3]) };
  if (reply[4] === undefined) return decoded;
  const root = asArray(reply[4]);
  return { ...decoded, root: { nodeId: asString(root[0]), input: parseJson(asString(root[1])), results: asResults(root[2]) } };
}

/** start-node.lua */
export function decodeStartNode(value: unknown, input: StartNodeInput): StartNodeResult {
  const reply = asArray(value);
  switch (reply[0]) {
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
      const started = { kind: 'started' as const, input: parseJson(asString(reply[1])), results: asResults(reply[2]), events: asEvents(reply[3]) };
      return input.mapItem ? { ...started, item: parseJson(asString(reply[4])) } : started;
    }
    default:
      throw malformed('start-node reply');
  }
}

/** wait-node.lua */
export function decodeWaitNode(value: unknown): WaitNodeResult {
  const reply = asArray(value);
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

/** cancel-execution.lua */
export function decodeCancelExecution(value: unknown): CancelExecutionResult {
  const reply = asArray(value);
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

/** reopen-nodes.lua */
export function decodeReopenNodes(value: unknown): ReopenNodesResult {
  const reply = asArray(value);
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

/**
 * commit-node.lua: one reply per step committed (a fused run may stop before its last);
 * `flushed`: whether the call asked the script to append the nodes' flush entries.
 */
export function decodeCommitNodes(value: unknown, inputs: readonly NodeRef[], flushed = false): CommitNodeResult[] {
  const replies = asArray(value);
  if (replies.length === 0 || replies.length > inputs.length) throw malformed('commit-node reply');
  return replies.map((reply, i) => decodeCommitNode(reply, inputs[i] as NodeRef, flushed));
}

function decodeCommitNode(value: unknown, input: NodeRef, flushed: boolean): CommitNodeResult {
  const reply = asArray(value);
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
        events: asEventSummaries(reply[6]),
        settledMaps: asSettled(reply[7]),
        round: Number(reply[8]),
        ...asEagerStarts(reply[9], reply[10], Number(reply[8])),
        ...(flushed && asFlag(reply[1]) ? { flushed: true } : {}),
      };
    default:
      throw malformed('commit-node reply');
  }
}

/** ready-after.lua */
export function decodeReadyAfter(value: unknown, input: NodeRef): { ready: string[]; round: number } | null {
  const reply = asArray(value);
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

/** start-map.lua */
export function decodeStartMap(value: unknown): StartMapResult {
  const reply = asArray(value);
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

/** timeout-map.lua */
export function decodeTimeoutMap(value: unknown): TimeoutMapResult {
  const reply = asArray(value);
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

/** An execution's hot state from its meta, status and results hashes (HGETALL each); null without meta. */
export function decodeHotExecution(executionId: string, hashes: { meta: Record<string, string>; status: Record<string, string>; results: Record<string, string> }): HotExecution | null {
  const { meta } = hashes;
  if (meta.status === undefined) return null;
  const statuses = new Map<string, NodeStatusEntry>();
  for (const [id, json] of Object.entries(hashes.status)) statuses.set(id, asStatusEntry(parseJson(json)));
  const results = new Map<string, NodeResult>();
  for (const [id, json] of Object.entries(hashes.results)) results.set(id, parseJson(json) as NodeResult);
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

/** commit-node.lua's eager starts: the first ({} when none), then a list of the others. */
function asEagerStarts(first: unknown, more: unknown, round: number): Pick<CommitNodeResult, 'eager' | 'eagerMore'> {
  const eager = asEagerStart(first, round);
  if (!eager) return {};
  const eagerMore = asArray(more ?? []).map((value) => asEagerStart(value, round)).filter((e): e is EagerStart => e !== undefined);
  return eagerMore.length > 0 ? { eager, eagerMore } : { eager };
}

/** One eager start: {} or child id, input JSON, flat results, item JSON or '', map id or '', index. */
function asEagerStart(value: unknown, round: number): EagerStart | undefined {
  const reply = asArray(value ?? []);
  if (reply.length === 0) return undefined;
  const mapId = asString(reply[4]);
  const eager: EagerStart = { nodeId: asString(reply[0]), input: parseJson(asString(reply[1])), results: asResults(reply[2]) };
  if (mapId !== '') {
    eager.item = parseJson(asString(reply[3]));
    eager.mapItem = { mapId, index: Number(reply[5]), round };
  }
  return eager;
}

/** Results as the start scripts answer them: id, result JSON, id, result JSON… */
function asResults(value: unknown): Record<string, NodeResult> {
  const flat = asStrings(value);
  const results: Record<string, NodeResult> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [id, json] = [flat[i], flat[i + 1]];
    if (id !== undefined && json !== undefined) results[id] = parseJson(json) as NodeResult;
  }
  return results;
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

function unknownNode(input: NodeRef): WeftError {
  // Retrying cannot make a node appear in a pinned graph.
  return new WeftError('INTERNAL_ERROR', `node ${input.nodeId} is not part of execution ${input.executionId}`, { category: 'permanent' });
}
