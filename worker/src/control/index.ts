/**
 * Steering an execution from the api: re-running a node that failed for good (dead-letter
 * replay). Hot state is re-opened atomically, the record shows the execution running again,
 * and the nodes ready now are enqueued under fresh job ids (their old ids may still be
 * retained by the queue).
 */
import type { Repos } from '@weft/db/repos';
import { WeftError } from '@weft/shared/errors';
import { nodeJobIdOf, type NodeJobData } from '@weft/shared/jobs';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import { QUEUES, type CancelExecutionResult, type ControlBus, type FlushLog, type JobQueue, type StateStore } from '@weft/shared/ports';
import { failsSoftly, type NodeError } from '@weft/shared/engine';
import { parseMapItemNodeId } from '@weft/shared/flow';
import { FlowCache } from '../flow-cache.js';
import { childJobs } from '../processors/node.processor.js';

export interface ControlDeps {
  repos: Pick<Repos, 'executions' | 'flows'>;
  state: StateStore;
  queue: JobQueue;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
}

export type ReplayNode = (input: { workspaceId: string; executionId: string; nodeId: string }) => Promise<void>;
export type RetryExecution = (input: { workspaceId: string; executionId: string }) => Promise<{ retried: string[] }>;

interface Loaded {
  row: NonNullable<Awaited<ReturnType<ControlDeps['repos']['executions']['get']>>>;
  hot: NonNullable<Awaited<ReturnType<StateStore['getExecution']>>>;
  flow: Awaited<ReturnType<FlowCache['get']>>;
}

async function load(deps: ControlDeps, flows: FlowCache, input: { workspaceId: string; executionId: string }): Promise<Loaded> {
  const row = await deps.repos.executions.get(input);
  if (!row) throw new WeftError('NOT_FOUND', `execution ${input.executionId} not found`);
  const hot = await deps.state.getExecution(input.executionId);
  if (!hot) {
    throw new WeftError('CONFLICT', `execution ${input.executionId} is no longer in hot state (its TTL ran out): it cannot be re-run`);
  }
  return { row, hot, flow: await flows.get(hot.flowId, hot.flowVersion) };
}

/**
 * Nodes of the flow whose failure ended the execution (a soft failure, onError "continue", did
 * not). A map item's node is not one: its map failed with it, and re-opening the map runs the
 * item again.
 */
function fatalFailures(loaded: Loaded): string[] {
  return Object.entries(loaded.hot.nodes)
    .filter(([id, n]) => n.result?.status === 'failed' && loaded.flow.nodes.has(id) && !failsSoftly(loaded.flow.nodes.get(id) ?? {}))
    .map(([id]) => id)
    .sort();
}

/** Re-opens the nodes in hot state, marks the record running and enqueues what is ready now. */
async function reopenAndEnqueue(deps: ControlDeps, loaded: Loaded, nodeIds: string[]): Promise<string[]> {
  const { row, hot, flow } = loaded;
  const reopened = await deps.state.reopenNodes({ executionId: row.id, nodeIds, at: deps.clock().toISOString() });
  if (reopened.kind === 'missing') throw new WeftError('CONFLICT', `execution ${row.id} is no longer in hot state`);
  if (reopened.kind === 'not-failed') throw new WeftError('CONFLICT', `node '${reopened.nodeId}' has not failed`);
  await deps.repos.executions.reopen({ executionId: row.id });
  const template: NodeJobData = {
    executionId: row.id, workspaceId: row.workspaceId, flowId: hot.flowId, flowVersion: hot.flowVersion, nodeId: '',
    ...(row.maxCostUsd === null ? {} : { maxCostUsd: row.maxCostUsd }),
  };
  // Fresh ids: a node's earlier job id is still retained by the queue and would be dropped.
  const suffix = `r${Date.now().toString(36)}`;
  const jobs = childJobs(template, reopened.ready, flow).map((job) => ({ ...job, jobId: `${job.jobId}.${suffix}` }));
  if (jobs.length > 0) await deps.queue.addBulk(jobs);
  deps.metrics.executionsTotal.inc({ status: 'running' });
  return reopened.ready;
}

export function createReplayNode(deps: ControlDeps): ReplayNode {
  const flows = new FlowCache(deps.repos.flows);
  return async ({ workspaceId, executionId, nodeId }) => {
    const loaded = await load(deps, flows, { workspaceId, executionId });
    const item = parseMapItemNodeId(nodeId);
    if (item && loaded.flow.maps.has(item.mapId)) {
      throw new WeftError('CONFLICT', `node '${nodeId}' belongs to an item of map '${item.mapId}': retry the execution to run the map's unfinished items again`);
    }
    const node = loaded.flow.nodes.get(nodeId);
    if (!node) throw new WeftError('NOT_FOUND', `node ${nodeId} is not in flow ${loaded.hot.flowId} v${loaded.hot.flowVersion}`);
    if (failsSoftly(node)) {
      throw new WeftError('CONFLICT', `node '${nodeId}' failed with onError "continue": its downstream already ran without it`);
    }
    const others = fatalFailures(loaded).filter((id) => id !== nodeId);
    if (others.length > 0) {
      throw new WeftError('CONFLICT', `other nodes failed the execution too (${others.join(', ')}): replay them first or retry the execution`);
    }
    const ready = await reopenAndEnqueue(deps, loaded, [nodeId]);
    deps.logger.info({ executionId, nodeId, ready }, 'failed node replayed: execution running again');
  };
}

/**
 * Re-runs a failed or cancelled execution from where it stopped: the nodes whose failure ended
 * it (cancelled ones included) run again with what depends on them; completed nodes keep their
 * results and are not re-run.
 */
export function createRetryExecution(deps: ControlDeps): RetryExecution {
  const flows = new FlowCache(deps.repos.flows);
  return async ({ workspaceId, executionId }) => {
    const loaded = await load(deps, flows, { workspaceId, executionId });
    if (loaded.hot.status !== 'failed' && loaded.hot.status !== 'cancelled') {
      throw new WeftError('CONFLICT', `execution ${executionId} is ${loaded.hot.status}: only failed or cancelled executions can be retried`);
    }
    if (Object.values(loaded.hot.nodes).some((n) => n.status === 'running')) {
      throw new WeftError('CONFLICT', `execution ${executionId} still has nodes stopping: retry in a moment`, { retryAfterMs: 1000 });
    }
    const retried = fatalFailures(loaded);
    const ready = await reopenAndEnqueue(deps, loaded, retried);
    deps.logger.info({ executionId, retried, ready }, 'execution retried');
    return { retried };
  };
}
export { hashResumeToken } from '../processors/wait.js';

/**
 * Ends a live execution: hot state first (no node starts after it), then every worker aborts
 * the execution's running calls, its queued node jobs are removed, and the flusher records the
 * end. Used by cancel (api) and by the execution timeout (worker).
 */
export async function endExecution(deps: { state: StateStore; flushLog: FlushLog; queue: JobQueue; control?: ControlBus | undefined }, input: {
  executionId: string;
  at: Date;
  endAs?: { status: 'failed'; error: NodeError };
}): Promise<CancelExecutionResult> {
  const result = await deps.state.cancelExecution({ executionId: input.executionId, at: input.at.toISOString(), ...(input.endAs ? { endAs: input.endAs } : {}) });
  if (result.kind !== 'cancelled') return result;
  await deps.control?.publish({ type: 'cancel', executionId: input.executionId });
  await Promise.all(result.queued.map((nodeId) => {
    const item = parseMapItemNodeId(nodeId);
    const mapRound = item ? (result.mapRounds[item.mapId] ?? 0) : 0;
    return deps.queue.remove(QUEUES.nodes, nodeJobIdOf({ executionId: input.executionId, nodeId, mapRound }));
  }));
  await deps.flushLog.append([{ kind: 'execution', executionId: input.executionId }]);
  return result;
}
