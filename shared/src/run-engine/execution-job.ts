/**
 * weft-executions job: claim the row, load the pinned flow version, write hot state, enqueue the
 * roots, and run the first of them at once on this worker when it may (eager dispatch, `runRoot`):
 * the init starts it in the same step, the hop through the queue is saved, and this job stays
 * active (its lease) until that root, and what eager dispatch ran after it, has ended. A redelivered job enqueues every root's job: a root
 * that ran here is then run again or, committed, heals what ran under it (readyAfter).
 * The api commits the execution row before enqueueing, but a replica may lag: a row that is
 * not visible yet is a transient error (retried), never a failure.
 */
import type { ExecutionRow, Repos } from '../ports/database.js';
import { TERMINAL_EXECUTION_STATUSES } from '../model/index.js';
import { WeftError } from '../errors/index.js';
import { executionTimeoutJobId, jobExtras, type ExecutionJobData, type NodeJobData, type ResumeJobData } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import { endExecution } from './end-execution.js';
import { QUEUES, type ControlBus, type FlushLog, type EagerStart, type EnqueueRequest, type ExecutionAdmission, type InitExecutionInput, type InitExecutionResult, type JobContext, type JobHandler, type JobQueue, type StateStore } from '../ports/index.js';
import type { CompiledFlow, FlowCache } from './flow-cache.js';
import { childJobs, type RootReservation, type RootRunner } from './node-job.js';

export interface ExecutionProcessorDeps {
  repos: Pick<Repos, 'executions'>;
  state: StateStore;
  /** An execution cancelled while its job started ends through them (end-execution.ts). */
  flushLog: FlushLog;
  control?: ControlBus | undefined;
  admission: ExecutionAdmission;
  queue: JobQueue;
  flows: FlowCache;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
  /** Runs a root at once under this job (node-job.ts); absent: every root is enqueued. */
  runRoot?: RootRunner | undefined;
}

export function createExecutionProcessor(deps: ExecutionProcessorDeps): JobHandler<ExecutionJobData> {
  return async (job) => {
    // What starting the execution read and wrote (row, hot state's answer, logger) is released
    // before the root runs here: a parked execution holds only the root's run.
    const first = await startExecution(deps, job);
    if (!first) return;
    if (first.started && first.reservation) await first.reservation.run(first.started, first.startedAt);
    else await deps.queue.add(first.request);
  };
}

/** The first root, started by the init to run here at once (`started`), or to enqueue. */
interface FirstRoot {
  request: EnqueueRequest<NodeJobData>;
  reservation?: RootReservation;
  started?: EagerStart;
  startedAt: string;
}

/** Starts the execution; answers the first root (to run at once, or enqueue), the others enqueued. */
async function startExecution(deps: ExecutionProcessorDeps, job: JobContext<ExecutionJobData>): Promise<FirstRoot | undefined> {
  const { executionId, workspaceId } = job.data;
  const log = deps.logger.child({ executionId, jobId: job.id, attempt: job.attempt });
  const now = deps.clock();
  // The row goes running in the statement that reads it. A cancel recorded after this claim and
  // before hot state exists leaves an ended mark in Redis, and the init below then writes nothing:
  // a running row always has hot state or is about to, and a cancel always wins (control.ts).
  const claiming = deps.repos.executions.claimQueued({ executionId, startedAt: now });
  const carried = job.data.start;
  let row: StartRow;
  if (carried) {
    // What the init needs came with the job: the claim runs beside the init (settled after it).
    claiming.catch(() => undefined);
    row = { ...carried, singleNodeId: null, presetResults: null };
  } else {
    const claimed = await claimedRow(deps, await claiming, { executionId, workspaceId, log });
    if (!claimed) return undefined;
    row = claimed;
  }
  const flow = await deps.flows.get(row.flowId, row.flowVersion);
  const graph = hotGraphOf(flow, row);
  const template = { executionId, workspaceId, flowId: row.flowId, flowVersion: row.flowVersion, nodeId: '', ...jobExtras(row) };
  // The first root runs here at once when it may: the init starts it in its own step (no start
  // round trip), while the slot of the workspace's cap is asked for beside it.
  const firstRootId = graph.nodes.find((n) => n.parentCount === 0)?.id;
  const [firstRequest] = firstRootId === undefined ? [] : childJobs(template, [firstRootId], flow);
  const reservation = firstRequest ? deps.runRoot?.(firstRequest, flow, job) ?? undefined : undefined;
  const at = now.toISOString();
  try {
    const init = await deps.state.initExecution({
      executionId,
      workspaceId,
      flowId: row.flowId,
      flowVersion: row.flowVersion,
      input: row.input,
      ...graph,
      at,
      ...(reservation ? { startRoot: reservation.startRoot } : {}),
    });
    if (!init.root) await reservation?.release();
    if (carried && !(await claimedRow(deps, await claiming, { executionId, workspaceId, log, init, at: now }))) {
      await reservation?.release();
      return undefined;
    }
    return await afterInit(deps, { job, row, flow, graph, template, init, at, log, ...(firstRequest ? { firstRequest } : {}), ...(reservation ? { reservation } : {}) });
  } catch (err) {
    // The root is not run here: its slots go back (a redelivery of this job enqueues it).
    await reservation?.release();
    throw err;
  }
}

/** What starting an execution reads of its row. */
type StartRow = Pick<ExecutionRow, 'flowId' | 'flowVersion' | 'input' | 'maxCostUsd' | 'priority' | 'singleNodeId' | 'presetResults'>;

/**
 * The claimed row, or undefined when the execution ended before it started (a cancel): its
 * admission is released, and hot state an init wrote beside the claim (`init`) is ended as the
 * row was. No row: EXECUTION_NOT_VISIBLE (retried), and what such an init wrote is removed.
 */
async function claimedRow(deps: ExecutionProcessorDeps, claim: { row: ExecutionRow; claimed: boolean } | null, input: {
  executionId: string; workspaceId: string; log: Logger; init?: InitExecutionResult; at?: Date;
}): Promise<ExecutionRow | undefined> {
  const { executionId, workspaceId, init } = input;
  if (!claim) {
    if (init?.created === true) await deps.state.deleteExecutions([executionId]);
    throw new WeftError('EXECUTION_NOT_VISIBLE', `execution ${executionId} is not visible yet`);
  }
  if (!TERMINAL_EXECUTION_STATUSES.has(claim.row.status)) return claim.row;
  // A cancel recorded before the claim: its own end of hot state may not have run yet (or its api
  // went away): this one ends what the init wrote, once (an ended execution is left as it is).
  if (init?.created === true) await endExecution(deps, { executionId, at: input.at ?? deps.clock() });
  // No hot state flush releases it (idempotent).
  await deps.admission.release({ workspaceId, executionId });
  input.log.debug({ status: claim.row.status }, 'execution already ended');
  return undefined;
}

/** What follows the init: the flow deadline, the roots enqueued but the one answered to run at once. */
async function afterInit(deps: ExecutionProcessorDeps, input: {
  job: JobContext<ExecutionJobData>;
  row: StartRow;
  flow: CompiledFlow;
  graph: Pick<InitExecutionInput, 'nodes' | 'presetResults'>;
  template: NodeJobData;
  init: InitExecutionResult;
  at: string;
  log: Logger;
  firstRequest?: EnqueueRequest<NodeJobData>;
  reservation?: RootReservation;
}): Promise<FirstRoot | undefined> {
  const { row, flow, graph, template, init, at, log, firstRequest, reservation } = input;
  const { executionId, workspaceId } = input.job.data;
  if (init.created) {
    deps.metrics.executionsTotal.inc({ status: 'running' });
    log.info({ flowId: row.flowId, flowVersion: row.flowVersion, singleNodeId: row.singleNodeId, roots: init.ready }, 'execution started');
  }
  if (init.status !== 'running') {
    // Ended meanwhile: a cancel recorded after the claim (its ended mark), or a redelivery of an ended one.
    log.debug({ status: init.status, created: init.created }, 'execution not live: not run');
    return undefined;
  }
  if (init.created) {
    // The whole execution's deadline: a delayed job, so it survives worker restarts.
    if (flow.record.timeoutMs !== undefined) {
      const timeout: ResumeJobData = { executionId, workspaceId, flowId: row.flowId, flowVersion: row.flowVersion, nodeId: '', kind: 'execution-timeout' };
      await deps.queue.add({ queue: QUEUES.resume, name: 'execution-timeout', data: timeout, jobId: executionTimeoutJobId(executionId), delayMs: flow.record.timeoutMs, attempts: 5 });
    }
  }
  if (!init.created) {
    // A redelivery: this job may have run a root (and its eager chain) when its worker died.
    // Every root's job is enqueued (one that exists already is dropped): an open root runs
    // again, a committed one re-enqueues what it leased and made ready.
    const roots = graph.nodes.filter((n) => n.parentCount === 0).map((n) => n.id);
    if (roots.length > 0) await deps.queue.addBulk(childJobs(template, roots, flow));
    return undefined;
  }
  if (init.root && firstRequest && reservation) {
    const others = childJobs(template, init.ready, flow);
    if (others.length > 0) await deps.queue.addBulk(others);
    return { request: firstRequest, reservation, started: init.root, startedAt: at };
  }
  const [first, ...rest] = childJobs(template, init.ready, flow);
  if (rest.length > 0) await deps.queue.addBulk(rest);
  return first ? { request: first, startedAt: at } : undefined;
}

/**
 * The hot graph of an execution: the whole flow, or for a single-node run that node alone (no
 * parents, no children) with its upstream results preset from the row.
 */
export function hotGraphOf(flow: CompiledFlow, row: Pick<ExecutionRow, 'singleNodeId' | 'presetResults'>): Pick<InitExecutionInput, 'nodes' | 'presetResults'> {
  if (row.singleNodeId === null) return { nodes: flow.hotNodes };
  if (!flow.nodes.has(row.singleNodeId)) {
    throw new WeftError('FLOW_VERSION_NOT_FOUND', `node '${row.singleNodeId}' is not in flow ${flow.record.id} v${flow.record.version}`);
  }
  return { nodes: [{ id: row.singleNodeId, parentCount: 0, children: [] }], presetResults: row.presetResults ?? {} };
}
