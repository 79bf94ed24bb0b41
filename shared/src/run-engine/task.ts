/**
 * Task nodes run on external workers (architecture.md, "External tasks"). The engine never holds
 * a BullMQ job while a worker holds the task: the node job renders the input, parks the node in
 * hot state like a wait node and queues the task in Postgres, then ends. A worker's report (or a
 * resume link, or a timeout) comes back as a `weft-resume` job and is committed by the engine's
 * one commit path, which answers `not committed` for a node that no longer waits.
 */
import { commitIntent, outcomeOf, retryPolicyFor } from '../engine/index.js';
import { WeftError, toNodeError } from '../errors/index.js';
import { TASK_DEFAULT_HEARTBEAT_TIMEOUT_MS, type TaskNode } from '../flow/index.js';
import { newId } from '../ids/index.js';
import { waitJobId, type NodeJobData, type ResumeJobData } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { NodeResult } from '../model/index.js';
import { QUEUES, type FlushLog, type JobQueue, type Repos, type StateStore, type TaskWakeups } from '../ports/index.js';
import { mapStringLeaves, renderTemplateValue, type TemplateContext } from '../templates/index.js';
import type { ClaimCheck } from './claim-check.js';
import { commitAndContinue } from './commit.js';
import type { CompiledFlow, ResolvedNode } from './flow-cache.js';
import { liveStatusEntries } from './live-status.js';

/** The node's input with its string leaves rendered; a leaf that is exactly one reference keeps its type. */
export function renderTaskInput(node: TaskNode, ctx: TemplateContext): unknown {
  return mapStringLeaves(node.input ?? null, (text) => renderTemplateValue(text, ctx));
}

export interface TaskDeps {
  state: StateStore;
  flushLog: FlushLog;
  queue: JobQueue;
  repos: Pick<Repos, 'tasks'>;
  metrics: WeftMetrics;
  taskWakeups: TaskWakeups;
}

/** Parks a started task node and queues its task for the workers of its (workspace, handler). */
export async function suspendTask(deps: TaskDeps, input: { data: NodeJobData; node: TaskNode; renderedInput: unknown; at: Date; log: Logger }): Promise<void> {
  const { data, node, at, log } = input;
  const waitingSince = at.toISOString();
  const waited = await deps.state.waitNode({
    executionId: data.executionId,
    nodeId: node.id,
    at: waitingSince,
    tokenHash: null,
    data: { event: 'task', handler: node.handler, ...(node.queue === undefined ? {} : { queue: node.queue }) },
  });
  if (waited.kind !== 'waiting') {
    log.debug({ outcome: waited.kind }, 'task node not parked');
    return;
  }
  const status = liveStatusEntries(data.executionId, waited.events);
  if (status.length > 0) await deps.flushLog.append(status);
  const retry = retryPolicyFor(node);
  const taskId = await deps.repos.tasks.enqueue({
    id: newId(), workspaceId: data.workspaceId, executionId: data.executionId, flowId: data.flowId, flowVersion: data.flowVersion,
    nodeId: node.id, handler: node.handler, queue: node.queue ?? null, input: input.renderedInput, secretNames: node.secrets ?? [],
    maxAttempts: retry.attempts, backoff: retry.backoff, heartbeatTimeoutMs: node.heartbeatTimeoutMs ?? TASK_DEFAULT_HEARTBEAT_TIMEOUT_MS,
    nodeStartedAt: waitingSince,
  });
  if (node.timeoutMs !== undefined) {
    const spell = { executionId: data.executionId, nodeId: node.id, waitingSince };
    await deps.queue.add({
      queue: QUEUES.resume, name: 'resume', data: { ...data, kind: 'timeout' } satisfies ResumeJobData,
      jobId: waitJobId({ ...spell, kind: 'timeout' }), delayMs: node.timeoutMs, attempts: 5,
    });
  }
  // Claims of this (workspace, handler) waiting on any api instance look now, not on their poll.
  await deps.taskWakeups.notify({ workspaceId: data.workspaceId, handler: node.handler })
    .catch((err: unknown) => { log.warn({ err }, 'task wake-up not published: waiting claims find the task on their poll'); });
  deps.metrics.tasksTotal.inc({ event: 'queued' });
  log.info({ taskId, handler: node.handler, queue: node.queue, timeoutMs: node.timeoutMs }, 'task queued for external workers');
}

/** What a resume job of a task node commits: the worker's report, a resume link's data, or a timeout. */
function taskOutcome(node: TaskNode, data: ResumeJobData): { status: 'completed' | 'failed'; output: unknown; failure: WeftError | null } {
  switch (data.kind) {
    case 'task': {
      const report = data.task;
      if (!report || report.status === 'completed') return { status: 'completed', output: report?.output ?? null, failure: null };
      const message = report.error?.message ?? `task of node '${node.id}' failed`;
      return { status: 'failed', output: null, failure: new WeftError(report.error?.code === 'task_lease_expired' ? 'TASK_LEASE_EXPIRED' : 'TASK_FAILED', message) };
    }
    case 'event':
      return { status: 'completed', output: data.data ?? null, failure: null };
    case 'timer':
      return { status: 'failed', output: null, failure: new WeftError('WAIT_TIMEOUT', `task of node '${node.id}' waited for its outside event past its until`) };
    case 'timeout':
    case 'map-timeout':
    case 'execution-timeout':
      return { status: 'failed', output: null, failure: new WeftError('NODE_TIMEOUT', `task node '${node.id}' timed out after ${node.timeoutMs ?? 0} ms`) };
  }
}

/** Commits a task node from its resume job, then takes its task out of the queue. */
export async function commitTask(deps: Omit<TaskDeps, 'taskWakeups'> & { claimCheck: ClaimCheck; workerId: string; clock: () => Date }, input: {
  data: ResumeJobData;
  jobId: string;
  resolved: ResolvedNode & { node: TaskNode };
  flow: CompiledFlow;
  startedAt: string;
  log: Logger;
}): Promise<void> {
  const { data, resolved, log } = input;
  const { node } = resolved;
  const now = deps.clock();
  const outcome = taskOutcome(node, data);
  const report = data.kind === 'task' ? data.task : undefined;
  const output = outcome.status === 'completed'
    ? await deps.claimCheck.store({ executionId: data.executionId, nodeType: 'task', field: 'output', value: outcome.output, log })
    : null;
  const result: NodeResult = {
    status: outcome.status,
    output,
    // A worker's own code travels in its message: stored codes are the catalog's.
    error: outcome.failure ? (report?.error ?? toNodeError(outcome.failure)) : null,
    usage: null, cost: null, attempts: report?.attempt ?? 1, input: null, provider: null, model: null,
    workerId: report?.workerId ?? deps.workerId, startedAt: input.startedAt, finishedAt: now.toISOString(),
    runtimeMs: Math.max(0, now.getTime() - Date.parse(input.startedAt)),
    ...(report?.logs && report.logs.length > 0 ? { logs: report.logs } : {}),
  };
  const intent = commitIntent({ node, outcome: outcomeOf(result.status), failure: result.error, children: resolved.children, mapItem: false });
  await commitAndContinue(deps, {
    data, node, flow: input.flow, result, failure: outcome.failure, intent, log, attempt: result.attempts, jobId: input.jobId, runtimeMs: result.runtimeMs ?? 0,
  });
  const spell = { executionId: data.executionId, nodeId: node.id, waitingSince: input.startedAt };
  await Promise.all([
    deps.repos.tasks.settle({ executionId: data.executionId, nodeId: node.id, status: outcome.status }),
    data.kind === 'timeout' ? undefined : deps.queue.remove(QUEUES.resume, waitJobId({ ...spell, kind: 'timeout' })),
    data.kind === 'timer' ? undefined : deps.queue.remove(QUEUES.resume, waitJobId({ ...spell, kind: 'timer' })),
  ]);
  deps.metrics.tasksTotal.inc({ event: data.kind === 'task' ? outcome.status : data.kind === 'event' ? 'completed' : 'timed_out' });
}
