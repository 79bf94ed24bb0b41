/**
 * Steering a started execution: cancel, retry, dead-letter replay and the resume of a waiting
 * node. Each checks what the record and hot state say first and answers NOT_FOUND or CONFLICT
 * when the command cannot apply; nothing is written then.
 */
import { safeEqual } from '../crypto/index.js';
import { failsSoftly } from '../engine/index.js';
import { endedUnfinished, TERMINAL_EXECUTION_STATUSES } from '../model/index.js';
import { WeftError } from '../errors/index.js';
import { parseMapItemNodeId, type MapItemNode, type TaskNode, type WaitNode } from '../flow/index.js';
import type { FlowRecord } from '../ports/database.js';
import { jobExtras, waitJobId, type NodeJobData } from '../jobs/index.js';
import { QUEUES, type StateStore } from '../ports/index.js';
import { childJobs } from './commit.js';
import { endExecution } from './end-execution.js';
import type { FlowCache } from './flow-cache.js';
import type { EngineResources } from './resources.js';
import { hashResumeToken } from './wait.js';

/** Control needs everything the engine holds but the spend ledger. */
export type ControlDeps = Omit<EngineResources, 'spendLedger'>;

export type ReplayNode = (input: { workspaceId: string; executionId: string; nodeId: string }) => Promise<void>;
export type RetryExecution = (input: { workspaceId: string; executionId: string }) => Promise<{ retried: string[] }>;
export type CancelExecution = (input: { workspaceId: string; executionId: string }) => Promise<{ running: string[] }>;
export type ResumeNode = (input: { workspaceId: string; executionId: string; nodeId: string; data?: unknown; token?: string | undefined }) => Promise<void>;

export interface Loaded {
  row: NonNullable<Awaited<ReturnType<ControlDeps['repos']['executions']['get']>>>;
  hot: NonNullable<Awaited<ReturnType<StateStore['getExecution']>>>;
  flow: Awaited<ReturnType<FlowCache['get']>>;
}

async function load(deps: ControlDeps, input: { workspaceId: string; executionId: string }): Promise<Loaded> {
  const row = await deps.repos.executions.get(input);
  if (!row) throw new WeftError('NOT_FOUND', `execution ${input.executionId} not found`);
  const hot = await deps.state.getExecution(input.executionId);
  if (!hot) {
    throw new WeftError('CONFLICT', `execution ${input.executionId} is no longer in hot state (its TTL ran out): it cannot be re-run`);
  }
  return { row, hot, flow: await deps.flows.get(hot.flowId, hot.flowVersion) };
}

/**
 * Nodes of the flow whose failure ended the execution (a soft failure, onError "continue", did
 * not). A map item's node is not one: its map failed with it, and re-opening the map runs the
 * item again.
 */
function fatalFailures(loaded: Loaded): string[] {
  return Object.entries(loaded.hot.nodes)
    .filter(([id, n]) => endedUnfinished(n.result?.status) && loaded.flow.nodes.has(id) && !failsSoftly(loaded.flow.nodes.get(id) ?? {}))
    .map(([id]) => id)
    .sort();
}

/** Re-opens the nodes in hot state, marks the record running and enqueues what is ready now. */
async function reopenAndEnqueue(deps: ControlDeps, loaded: Loaded, nodeIds: string[]): Promise<string[]> {
  const { row, hot, flow } = loaded;
  const reopened = await deps.state.reopenNodes({ executionId: row.id, nodeIds, at: deps.clock().toISOString() });
  if (reopened.kind === 'missing') throw new WeftError('CONFLICT', `execution ${row.id} is no longer in hot state`);
  if (reopened.kind === 'not-failed') throw new WeftError('CONFLICT', `node '${reopened.nodeId}' has not failed`);
  // In flight again until its new end is recorded; a retry is not refused by the cap.
  await deps.admission.readmit({ workspaceId: row.workspaceId, executionId: row.id });
  await deps.repos.executions.reopen({ executionId: row.id });
  const template: NodeJobData = {
    executionId: row.id, workspaceId: row.workspaceId, flowId: hot.flowId, flowVersion: hot.flowVersion, nodeId: '',
    ...jobExtras(row),
  };
  // Fresh ids: a node's earlier job id is still retained by the queue and would be dropped.
  const suffix = `r${Date.now().toString(36)}`;
  const jobs = childJobs(template, reopened.ready, flow).map((job) => ({ ...job, jobId: `${job.jobId}.${suffix}` }));
  if (jobs.length > 0) await deps.queue.addBulk(jobs);
  deps.metrics.executionsTotal.inc({ status: 'running' });
  return reopened.ready;
}

/**
 * Re-runs a node that failed for good (dead-letter replay): hot state is re-opened atomically,
 * the record shows the execution running again, and the nodes ready now are enqueued under
 * fresh job ids (their old ids may still be retained by the queue).
 */
export function createReplayNode(deps: ControlDeps): ReplayNode {
  return async ({ workspaceId, executionId, nodeId }) => {
    const loaded = await load(deps, { workspaceId, executionId });
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
  return async ({ workspaceId, executionId }) => {
    const loaded = await load(deps, { workspaceId, executionId });
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

/**
 * Cancel: recorded first (an execution job that has not started then never starts), then hot
 * state (no node starts after it), then every worker aborts the execution's running calls.
 */
export function createCancelExecution(deps: ControlDeps): CancelExecution {
  const log = deps.logger.child({ component: 'control' });
  return async ({ workspaceId, executionId }) => {
    const { repos } = deps;
    const row = await repos.executions.get({ workspaceId, executionId });
    if (!row) throw new WeftError('NOT_FOUND', `execution ${executionId} not found`);
    if (TERMINAL_EXECUTION_STATUSES.has(row.status)) throw new WeftError('CONFLICT', `execution ${executionId} is already ${row.status}`);
    const at = deps.clock();
    const recordCancelled = (): Promise<void> =>
      repos.executions.finalize({ executionId, status: 'cancelled', output: null, error: null, usage: null, cost: null, startedAt: null, finishedAt: at });
    if (row.status === 'queued') await recordCancelled();
    const result = await endExecution(deps, { executionId, at });
    switch (result.kind) {
      case 'ended':
        // Another cancel that also read the row queued ended the hot state first. Cancelled, as
        // asked.
        if (result.status === 'cancelled' && row.status === 'queued') break;
        // Hot state is ahead of the record (the flusher has not written the end yet).
        throw new WeftError('CONFLICT', `execution ${executionId} is already ${result.status}`);
      case 'missing':
        // Never started (or its hot state is gone): the record is the whole truth. An execution job
        // that claimed the row already finds the ended mark this left, and writes no hot state.
        if (row.status !== 'queued') await recordCancelled();
        await deps.queue.remove(QUEUES.executions, executionId);
        // No hot state, so no flush will record this end: it stops counting now.
        await deps.admission.release({ workspaceId, executionId });
        await deps.events.publish({ type: 'execution.cancelled', executionId, flowId: row.flowId, workspaceId, at: at.toISOString(), data: { status: 'cancelled' } });
        break;
      case 'cancelled':
        break;
    }
    deps.metrics.executionsTotal.inc({ status: 'cancelled' });
    const running = result.kind === 'cancelled' ? result.running : [];
    log.info({ executionId, running }, 'execution cancelled');
    return { running };
  };
}

/** Enqueues the `event` resume of a waiting node: one job id per waiting spell, so a second resume of the spell is dropped. */
export async function enqueueEventResume(deps: Pick<ControlDeps, 'queue'>, input: {
  row: Loaded['row'];
  hot: Loaded['hot'];
  nodeId: string;
  waitingSince: string;
  data: unknown;
}): Promise<void> {
  const { row, hot, nodeId } = input;
  await deps.queue.add({
    queue: QUEUES.resume,
    name: 'resume',
    data: {
      executionId: row.id, workspaceId: row.workspaceId, flowId: hot.flowId, flowVersion: hot.flowVersion, nodeId, kind: 'event', data: input.data ?? null,
      ...jobExtras(row),
    },
    // A wait may run again (a retry or replay): one job id per waiting spell.
    jobId: waitJobId({ executionId: row.id, nodeId, kind: 'event', waitingSince: input.waitingSince }),
    attempts: 5,
  });
}

/** The wait node a (possibly map item's) node id names in a pinned flow, if it waits for an event. */
export function eventWaitNode(flow: FlowRecord | null, nodeId: string): WaitNode | null {
  const node = flowNode(flow, nodeId);
  return node?.type === 'wait' && node.event ? node : null;
}

/**
 * What a resume link may resume: an event wait, or a task node (its worker parked it with
 * `POST /v1/tasks/:id/wait`, the only place its links are handed out).
 */
export function linkResumableNode(flow: FlowRecord | null, nodeId: string): WaitNode | TaskNode | null {
  const node = flowNode(flow, nodeId);
  return node?.type === 'task' ? node : eventWaitNode(flow, nodeId);
}

function flowNode(flow: FlowRecord | null, nodeId: string): FlowRecord['nodes'][number] | MapItemNode | undefined {
  const item = parseMapItemNodeId(nodeId);
  const map = item ? flow?.nodes.find((n) => n.id === item.mapId) : undefined;
  return item ? (map?.type === 'map' ? map.graph.nodes.find((n) => n.id === item.nodeId) : undefined) : flow?.nodes.find((n) => n.id === nodeId);
}

/**
 * Resumes a node waiting for an approval or a webhook: a webhook must bring the token of its
 * node.waiting event, an approval may (and then it must match). The resume job continues it.
 */
export function createResumeNode(deps: ControlDeps): ResumeNode {
  const log = deps.logger.child({ component: 'control' });
  return async ({ workspaceId, executionId, nodeId, data, token }) => {
    const row = await deps.repos.executions.get({ workspaceId, executionId });
    if (!row) throw new WeftError('NOT_FOUND', `execution ${executionId} not found`);
    const hot = await deps.state.getExecution(executionId);
    const waiting = hot?.nodes[nodeId];
    if (!hot || !waiting) throw new WeftError('CONFLICT', `node '${nodeId}' is not waiting`);
    if (waiting.status !== 'waiting') throw new WeftError('CONFLICT', `node '${nodeId}' is not waiting (it is ${waiting.status})`);
    const node = eventWaitNode(await deps.repos.flows.getVersion(hot.flowId, hot.flowVersion), nodeId);
    if (!node) throw new WeftError('CONFLICT', `node '${nodeId}' waits for a timer, not for an event`);
    if (node.event === 'webhook' || token !== undefined) {
      const expected = waiting.waitTokenHash;
      if (!expected || !safeEqual(hashResumeToken(token ?? ''), expected)) {
        throw new WeftError('RESUME_TOKEN_INVALID', `wrong or missing resume token for node '${nodeId}'`);
      }
    }
    await enqueueEventResume(deps, { row, hot, nodeId, waitingSince: waiting.startedAt ?? '', data });
    log.info({ executionId, nodeId, event: node.event }, 'waiting node resumed');
  };
}
