/**
 * After a node has a result: commit it atomically, then (in parallel) append it to the flush
 * log, enqueue the children that became ready and, for a final failure, park a dead letter.
 * Shared by the node processor and the resume processor (wait nodes).
 */
import type { NodeResult } from '../model/index.js';
import { retryPolicyFor, type CommitIntent } from '../engine/index.js';
import { toNodeError, type WeftError } from '../errors/index.js';
import type { FlowNode } from '../flow/index.js';
import { nodeJob, type DeadLetterJobData, type NodeJobData } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import { QUEUES, type CommitNodeResult, type ControlBus, type EagerRequest, type EagerStart, type EnqueueRequest, type FlushEntry, type FlushLog, type JobQueue, type SettledMap, type StateStore } from '../ports/index.js';
import { resolveNode, type CompiledFlow } from './flow-cache.js';
import { liveStatusEntries } from './live-status.js';

/**
 * Jobs for nodes that became ready: flow nodes, or map item nodes (`round`: their map's round,
 * part of their job ids).
 */
export function childJobs(data: NodeJobData, childIds: readonly string[], flow: CompiledFlow, round = 0): Array<EnqueueRequest<NodeJobData>> {
  // A recovered wait's spell is its own: children start theirs when they run.
  const { mapRound: _previous, waitingSince: _spell, priorAttempts: _prior, ...base } = data;
  const jobs: Array<EnqueueRequest<NodeJobData>> = [];
  for (const id of childIds) {
    const child = resolveNode(flow, id);
    if (!child) continue;
    const retry = retryPolicyFor(child.node);
    const job = child.item ? { ...base, nodeId: id, mapRound: round } : { ...base, nodeId: id };
    jobs.push(nodeJob(job, { type: child.node.type, attempts: retry.attempts, backoff: retry.backoff }));
  }
  return jobs;
}

/** Flush entries and metrics for map nodes a transition ended (their last item, or a failed one). */
export function settledMapEntries(data: NodeJobData, settled: readonly SettledMap[]): FlushEntry[] {
  return settled.map(({ nodeId, result }) => ({
    kind: 'node' as const, executionId: data.executionId, nodeId, result, workspaceId: data.workspaceId, flowId: data.flowId, nodeType: 'map',
  }));
}

export interface CommitDeps {
  state: StateStore;
  flushLog: FlushLog;
  queue: JobQueue;
  metrics: WeftMetrics;
  /** Where a fail-fast asks every worker to abort the execution's other running calls. */
  control?: ControlBus | undefined;
  clock: () => Date;
}

/** One node's result to commit, and what its commit needs. */
export interface CommitStep {
  data: NodeJobData;
  node: FlowNode;
  result: NodeResult;
  failure: WeftError | null;
  /** What the result does to the graph (commitIntent): applied as is. */
  intent: CommitIntent;
  attempt: number;
  jobId: string;
  runtimeMs: number;
  log: Logger;
  /** Eager dispatch: children the commit may start for this worker (eager-dispatch.ts). */
  eager?: EagerRequest;
}

export async function commitAndContinue(deps: CommitDeps, input: CommitStep & { flow: CompiledFlow }): Promise<Array<EagerStart & { startedAt: string }>> {
  return commitRun(deps, input.flow, [input]);
}

/**
 * Commits one node, or a fused run (node-job.ts): nodes of one execution run back to back by
 * this worker, each but the last naming only the next as its eager candidate, committed in one
 * step (StateStore.commitNodes). Then, for every step committed, appends what the commit did not
 * append itself to the flush log, enqueues the children that became ready and, for a final
 * failure, parks a dead letter. Answers the children the last step's commit started for this
 * worker; none when the run stopped before its last step (whose nodes were then not committed).
 */
export async function commitRun(deps: CommitDeps, flow: CompiledFlow, steps: readonly CommitStep[]): Promise<Array<EagerStart & { startedAt: string }>> {
  // The commit's time, never before the result's end: what it makes happen (a child started
  // eagerly, the execution's end) is dated when it happened, after every parent's end — a join's
  // first parent may commit after its last one finished. The steps of a fused run before its
  // last are dated when their node ended: the next one started then, in this worker.
  const now = deps.clock().toISOString();
  const last = steps.length - 1;
  const ats = steps.map((step, i) => (i < last || now < step.result.finishedAt ? step.result.finishedAt : now));
  const commits = await deps.state.commitNodes(steps.map((step, i) => ({
    executionId: step.data.executionId,
    nodeId: step.node.id,
    result: step.result,
    takenChildren: step.intent.takenChildren,
    failExecution: step.intent.failExecution,
    soft: step.intent.soft,
    at: ats[i] ?? now,
    flush: { workspaceId: step.data.workspaceId, flowId: step.data.flowId, nodeType: step.node.type },
    ...(step.eager && step.eager.candidates.length > 0 ? { eager: step.eager } : {}),
  })));

  const flush: FlushEntry[] = [];
  const ready: Array<EnqueueRequest<NodeJobData>> = [];
  const work: Array<Promise<unknown>> = [];
  const committed: Array<{ step: CommitStep; commit: CommitNodeResult }> = [];
  for (const [i, commit] of commits.entries()) {
    const step = steps[i];
    if (!step) break;
    const { data, node, result, failure } = step;
    if (commit.ready.length > 0) ready.push(...childJobs(data, commit.ready, flow, commit.round));
    if (!commit.committed) {
      // Another path committed this node first (a resume racing its timeout, a redelivery):
      // its record stands; only re-announce what is ready.
      step.log.debug('node already committed: nothing recorded');
      continue;
    }
    committed.push({ step, commit });
    // The commit may have appended the node's own entry in its script (one Redis server).
    if (commit.flushed !== true) flush.push({ kind: 'node', executionId: data.executionId, nodeId: node.id, result, workspaceId: data.workspaceId, flowId: data.flowId, nodeType: node.type });
    flush.push(...settledMapEntries(data, commit.settledMaps));
    // Where the script appended the node's entry, it appended the execution's end too.
    if (!commit.finished) flush.push(...liveStatusEntries(data.executionId, commit.events));
    else if (commit.flushed !== true) flush.push({ kind: 'execution', executionId: data.executionId });
    // A cancelled node did not fail for good: it is not a dead letter.
    if (failure && failure.code !== 'NODE_CANCELLED') {
      const dead: DeadLetterJobData = {
        executionId: data.executionId,
        workspaceId: data.workspaceId,
        nodeId: node.id,
        error: toNodeError(failure),
        attempts: step.attempt,
        failedAt: result.finishedAt,
      };
      work.push(deps.queue.add({ queue: QUEUES.dead, name: 'dead-letter', data: dead, jobId: `${step.jobId}.dead` }));
    }
    // Fail-fast: the flow's nodes still running are cut. Their workers abort them, so each commits
    // its result as cancelled (and node.cancelled is published) instead of running to its timeout.
    // A failed map's items still running finish: their slots keep their results for a retry.
    if (commit.finished && commit.executionStatus === 'failed' && deps.control) {
      const others = [...flow.nodes.keys()].filter((id) => id !== node.id);
      if (others.length > 0) work.push(deps.control.publish({ type: 'cancel', executionId: data.executionId, nodeIds: others }));
    }
  }
  if (flush.length > 0) work.push(deps.flushLog.append(flush));
  if (ready.length > 0) work.push(deps.queue.addBulk(ready));
  await Promise.all(work);

  for (const { step, commit } of committed) recordCommit(deps.metrics, step, commit);
  if (steps.length > 1) {
    deps.metrics.eagerDispatchTotal.inc({ result: 'fused' }, Math.max(0, committed.length - 1));
    if (commits.length < steps.length) steps[0]?.log.debug({ steps: steps.length, committed: commits.length }, 'fused run stopped early: its later nodes were not committed');
  }
  const final = commits.length === steps.length ? commits[last] : undefined;
  const started = final?.committed ? [...(final.eager ? [final.eager] : []), ...(final.eagerMore ?? [])] : [];
  if (started.length === 0) return [];
  // A started child's run is dated when the commit's answer arrived, not with `at` (taken before
  // the commit was sent): another parent of a join, committed by another worker between the two,
  // may have finished after `at`, never after this commit was applied.
  const answered = deps.clock().toISOString();
  const at = ats[last] ?? now;
  const startedAt = answered > at ? answered : at;
  return started.map((child) => ({ ...child, startedAt }));
}

/** Metrics and log lines of a committed node. */
function recordCommit(metrics: WeftMetrics, step: CommitStep, commit: CommitNodeResult): void {
  const { node, result, failure, log, runtimeMs } = step;
  metrics.nodesTotal.inc({ node_type: node.type, status: result.status });
  metrics.nodeDuration.observe({ node_type: node.type, status: result.status }, runtimeMs / 1000);
  metrics.nodeAttemptsTotal.inc({ node_type: node.type, result: failure ? 'failed' : 'ok' });
  if (failure) {
    metrics.errorsTotal.inc({ category: failure.category, code: failure.code });
    log.warn({ code: failure.code, category: failure.category, err: failure.message, runtimeMs }, 'node failed');
  } else {
    log.info({ runtimeMs, ready: commit.ready }, 'node completed');
  }
  recordSettledMaps(metrics, log, commit.settledMaps);
  if (commit.finished) {
    metrics.executionsTotal.inc({ status: commit.executionStatus });
    log.info({ status: commit.executionStatus }, 'execution finished');
  }
}

/** Metrics and a log line per map node a transition ended. */
export function recordSettledMaps(metrics: WeftMetrics, log: Logger, settled: readonly SettledMap[]): void {
  for (const { nodeId, result } of settled) {
    metrics.nodesTotal.inc({ node_type: 'map', status: result.status });
    metrics.nodeDuration.observe({ node_type: 'map', status: result.status }, (result.runtimeMs ?? 0) / 1000);
    const slots: unknown[] = Array.isArray(result.output) ? result.output : [];
    const failedItems = slots.filter((slot) => typeof slot === 'object' && slot !== null && Object.keys(slot).length === 1 && 'error' in slot).length;
    if (result.status === 'completed') {
      metrics.mapItemsTotal.inc({ event: 'completed' }, slots.length - failedItems);
      metrics.mapItemsTotal.inc({ event: 'failed' }, failedItems);
      log.info({ mapNodeId: nodeId, items: slots.length, failedItems, runtimeMs: result.runtimeMs }, 'map completed');
    }
    else log.warn({ mapNodeId: nodeId, code: result.error?.code, err: result.error?.message }, 'map failed');
  }
}
