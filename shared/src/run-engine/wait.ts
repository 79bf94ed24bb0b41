/**
 * Wait nodes do not run an executor: the node suspends in hot state (node.waiting, with the
 * resume token for event waits) and delayed jobs on weft-resume end the wait (timer) or time
 * it out, surviving worker restarts. The api resumes event waits through the same queue.
 */
import { sha256Hex, type ResumeLinks } from '../crypto/index.js';
import { commitIntent, outcomeOf } from '../engine/index.js';
import { type NodeResult } from '../model/index.js';
import { WeftError, toNodeError } from '../errors/index.js';
import type { WaitNode } from '../flow/index.js';
import { jobExtras, waitJobId, type NodeJobData, type ResumeJobData } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import { QUEUES, type ControlBus, type EnqueueRequest, type FlushLog, type JobHandler, type JobQueue, type Repos, type StateStore } from '../ports/index.js';
import { resolveNode, type FlowCache } from './flow-cache.js';
import { endExecution } from './end-execution.js';
import { commitAndContinue } from './commit.js';
import { liveStatusEntries } from './live-status.js';
import { timeOutMap } from './map.js';
import { commitTask } from './task.js';
import type { ClaimCheck } from './claim-check.js';

/** Resume tokens are HMACs (high entropy): stored and compared as a fast unsalted hash, like API keys. */
export function hashResumeToken(token: string): string {
  return sha256Hex(token);
}

export async function suspendWait(input: {
  state: StateStore;
  flushLog: FlushLog;
  queue: JobQueue;
  resumeLinks: ResumeLinks;
  data: NodeJobData;
  node: WaitNode;
  /** When the wait began: now, or the first spell's start for a wait suspended again after a restart. */
  at: Date;
  log: Logger;
}): Promise<void> {
  const { node, data, at } = input;
  const waitingSince = at.toISOString();
  const spell = { executionId: data.executionId, nodeId: node.id, waitingSince };
  // Derived from the spell: a wait suspended again with the same start gets the same token and link.
  const token = node.event ? input.resumeLinks.waitToken(spell) : null;
  const link = node.event
    ? input.resumeLinks.link({ ...spell, workspaceId: data.workspaceId, expiresAtMs: input.resumeLinks.expiryOf({ waitingSince, timeoutMs: node.timeoutMs }) })
    : null;
  const until = node.durationMs !== undefined ? at.getTime() + node.durationMs : node.until !== undefined ? Date.parse(node.until) : null;
  const timeoutAt = node.event && node.timeoutMs !== undefined ? at.getTime() + node.timeoutMs : null;
  const waited = await input.state.waitNode({
    executionId: data.executionId,
    nodeId: node.id,
    at: at.toISOString(),
    tokenHash: token ? hashResumeToken(token) : null,
    data: {
      event: node.event ?? 'timer',
      ...(token ? { token } : {}),
      ...(link ? { resumeUrl: link.url, resumeUrlExpiresAt: link.expiresAt } : {}),
      ...(until !== null ? { until: new Date(until).toISOString() } : {}),
      ...(timeoutAt !== null ? { timeoutAt: new Date(timeoutAt).toISOString() } : {}),
    },
  });
  if (waited.kind !== 'waiting') {
    input.log.debug({ outcome: waited.kind }, 'wait node not suspended');
    return;
  }
  const status = liveStatusEntries(data.executionId, waited.events);
  if (status.length > 0) await input.flushLog.append(status);
  const jobs: EnqueueRequest<ResumeJobData>[] = [];
  if (until !== null) {
    jobs.push({ queue: QUEUES.resume, name: 'resume', data: { ...data, kind: 'timer' }, jobId: waitJobId({ ...spell, kind: 'timer' }), delayMs: Math.max(0, until - Date.now()), attempts: 5 });
  }
  if (timeoutAt !== null) {
    jobs.push({ queue: QUEUES.resume, name: 'resume', data: { ...data, kind: 'timeout' }, jobId: waitJobId({ ...spell, kind: 'timeout' }), delayMs: Math.max(0, timeoutAt - Date.now()), attempts: 5 });
  }
  if (jobs.length > 0) await input.queue.addBulk(jobs);
  input.log.info({ event: node.event ?? 'timer', until, timeoutAt, waitingSince, resumeLinkExpiresAt: link?.expiresAt }, 'node waiting');
}

export function createResumeProcessor(deps: {
  state: StateStore;
  flushLog: FlushLog;
  queue: JobQueue;
  flows: FlowCache;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
  workerId: string;
  control?: ControlBus;
  repos: Pick<Repos, 'tasks' | 'executions'>;
  claimCheck: ClaimCheck;
}): JobHandler<ResumeJobData> {
  return async (job) => {
    let data = job.data;
    const log = deps.logger.child({ executionId: data.executionId, nodeId: data.nodeId, jobId: job.id, resume: data.kind });
    if (data.kind === 'execution-timeout') {
      const flowRecord = (await deps.flows.get(data.flowId, data.flowVersion)).record;
      const error = toNodeError(new WeftError('EXECUTION_TIMEOUT', `the execution was still running after its timeoutMs (${flowRecord.timeoutMs ?? 0} ms)`));
      const ended = await endExecution(deps, { executionId: data.executionId, at: deps.clock(), endAs: { status: 'failed', error } });
      if (ended.kind === 'cancelled') {
        deps.metrics.executionsTotal.inc({ status: 'failed' });
        log.warn({ running: ended.running }, 'execution timed out: running nodes aborted');
      }
      return;
    }
    const flow = await deps.flows.get(data.flowId, data.flowVersion);
    if (data.kind === 'map-timeout') {
      await timeOutMap(deps, { data, flow, at: deps.clock(), log });
      return;
    }
    // A wait of the flow, or of a map's item, or a task node.
    const resolved = resolveNode(flow, data.nodeId);
    const node = resolved?.node;
    if (!resolved || (node?.type !== 'wait' && node?.type !== 'task')) return;
    const hot = await deps.state.getExecution(data.executionId);
    const waiting = hot?.nodes[node.id];
    if (waiting?.status !== 'waiting') {
      log.debug({ status: waiting?.status }, 'node no longer waiting: resume ignored');
      return;
    }
    // The children this resume enqueues carry the execution's budget and priority. A resume made
    // from a node job carries both (jobExtras always writes the priority); one sent by the api or
    // an external worker (a resume link, a task's report) knows neither: the row does.
    if (data.priority === undefined) {
      const row = await deps.repos.executions.getById(data.executionId);
      if (row) data = { ...data, ...jobExtras(row) };
    }
    if (node.type === 'task') {
      await commitTask(deps, { data, jobId: job.id, resolved: { ...resolved, node }, flow, startedAt: waiting.startedAt ?? deps.clock().toISOString(), log });
      return;
    }
    const now = deps.clock();
    const failure = data.kind === 'timeout'
      ? new WeftError('WAIT_TIMEOUT', `wait node '${node.id}' got no ${node.event ?? 'event'} within ${node.timeoutMs ?? 0} ms`)
      : null;
    const startedAt = waiting.startedAt ?? now.toISOString();
    const result: NodeResult = {
      status: failure ? 'failed' : 'completed',
      output: data.kind === 'event' ? (data.data ?? null) : null,
      error: failure ? toNodeError(failure) : null,
      usage: null, cost: null, attempts: 1, input: null, provider: null, model: null,
      workerId: deps.workerId, startedAt, finishedAt: now.toISOString(),
      runtimeMs: Math.max(0, now.getTime() - Date.parse(startedAt)),
    };
    const intent = commitIntent({
      node, outcome: outcomeOf(result.status), failure: result.error, children: resolved.children, mapItem: resolved.item !== undefined,
    });
    await commitAndContinue(deps, { data, node, flow, result, failure, intent, log, attempt: 1, jobId: job.id, runtimeMs: result.runtimeMs ?? 0 });
    if (data.kind !== 'timeout') await deps.queue.remove(QUEUES.resume, waitJobId({ executionId: data.executionId, nodeId: node.id, kind: 'timeout', waitingSince: startedAt }));
  };
}
