/**
 * weft-nodes job: start the node in hot state, run its executor, commit the result
 * atomically, then (in parallel) append it to the flush log and enqueue the children that
 * became ready. Redelivery is safe at every step: a terminal node is never re-run, and a
 * commit that already happened still returns the ready children.
 */
import type { CommitIntent, Spend } from '../engine/index.js';
import type { Cost, NodeResult } from '../model/index.js';
import { commitIntent, outcomeOf, retryDecision, storableJson, sumCost, sumUsage } from '../engine/index.js';
import { WeftError, toNodeError, toWeftError } from '../errors/index.js';
import { mapItemNodeId, nodeTypeSpecs, parseMapItemNodeId } from '../flow/index.js';
import type { NodeJobData } from '../jobs/index.js';
import type { EagerStart, EnqueueRequest, InitExecutionInput, JobContext, StartNodeResult } from '../ports/index.js';
import { eagerCandidates, releaseEagerSlots, runsEagerlyHere, takeEagerSlots, type EagerDispatchPolicy } from './eager-dispatch.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { ControlBus, EventBus, FlushLog, JobHandler, JobQueue, Repos, SpendLedger, StateStore, TaskWakeups } from '../ports/index.js';
import type { ResumeLinks } from '../crypto/index.js';
import type { RunningJobs } from './running-jobs.js';
import { resolveNode, type CompiledFlow, type FlowCache, type ResolvedNode } from './flow-cache.js';
import type { ExpressionEvaluator } from '../expressions/index.js';
import type { NodeOutcome, NodeRunContext } from '../ports/index.js';
import type { ClaimCheck } from './claim-check.js';
import { runMap } from './map.js';
import { TokenCoalescer } from './token-coalescer.js';
import { childJobs, commitRun, type CommitStep } from './commit.js';
import { suspendWait } from './wait.js';
import { renderTaskInput, suspendTask } from './task.js';
import { NodeSlots, type NodeSlotsDeps } from './node-slots.js';
import { nodeSignal } from './node-signal.js';

export { childJobs } from './commit.js';

export interface NodeProcessorDeps {
  state: StateStore;
  flushLog: FlushLog;
  spendLedger: SpendLedger;
  queue: JobQueue;
  events: EventBus;
  flows: FlowCache;
  runNode: (ctx: NodeRunContext) => Promise<NodeOutcome>;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
  resumeLinks: ResumeLinks;
  workerId: string;
  /** Where running jobs register so that a cancel from the api can abort them. */
  running?: RunningJobs;
  /** Where a fail-fast asks the workers to abort the execution's other running nodes. */
  control?: ControlBus | undefined;
  /** Evaluates a map's JSONata items, bounded. */
  expressions: ExpressionEvaluator;
  /** Stores large outputs apart and resolves the references in the results a node reads. */
  claimCheck: ClaimCheck;
  /** Whether ready children run at once on this worker (eager-dispatch.ts); default on. */
  eagerDispatch?: EagerDispatchPolicy;
  /** Task nodes queue their tasks here, and wake the claims waiting for them. */
  repos: Pick<Repos, 'tasks'>;
  /** The workspace active-node cap (node-slots.ts); absent or 0: none. */
  nodeAdmission?: NodeSlotsDeps['nodeAdmission'];
  workspaceMaxActiveNodes?: number | undefined;
  nodeSlotLeaseMs?: number | undefined;
  taskWakeups: TaskWakeups;
}

/**
 * Runs a root node at once under the execution job that made it ready, as eager dispatch runs a
 * child (eager-dispatch.ts). `reserve` answers null when it may not (engine type, another pool's
 * type, no free job slot): then the caller enqueues the node's job. Otherwise the reservation holds
 * a job slot, asks for a slot of the workspace's cap at once, and names the root for the
 * execution's init to start in its own step (InitExecutionInput.startRoot).
 */
export type RootRunner = (request: EnqueueRequest<NodeJobData>, flow: CompiledFlow, lease: Pick<JobContext, 'id' | 'signal'>) => RootReservation | null;

export interface RootReservation {
  startRoot: NonNullable<InitExecutionInput['startRoot']>;
  /**
   * Runs the root the init started, under the root's own job id; over the workspace's cap, its
   * job goes to the queue and waits in line. Gives the slots back when it has ended.
   */
  run(root: EagerStart, startedAt: string): Promise<void>;
  /** The root was not started: gives the slots back. */
  release(): Promise<void>;
}

/** The node processor, and the root runner the execution processor starts roots with. */
export function createNodeRunners(deps: NodeProcessorDeps): { nodes: JobHandler<NodeJobData>; runRoot: RootRunner } {
  const slots = new NodeSlots(deps);
  const run = runNodeJob(deps, slots);
  const policy = deps.eagerDispatch ?? { enabled: true };
  const nodes: JobHandler<NodeJobData> = async (job) => {
    // The workspace's active-node cap (node-slots.ts): over it, the job is deferred, not run.
    const release = await slots.take(job, deps.logger.child({ executionId: job.data.executionId, nodeId: job.data.nodeId, jobId: job.id }));
    try {
      await run(job);
    } finally {
      await release();
    }
  };
  const runRoot: RootRunner = (request, flow, lease) => {
    const root = resolveNode(flow, request.data.nodeId);
    if (!root || root.item || !runsEagerlyHere(policy, root.node)) return null;
    if (takeEagerSlots(policy, 1) === 0) return null;
    const log = deps.logger.child({ executionId: request.data.executionId, nodeId: request.data.nodeId, jobId: request.jobId, leaseJobId: lease.id });
    // Under the root's own job id: a redelivered execution job enqueues that job, whose run heals
    // the root and what ran under it (execution-job.ts). Asked for while the init is on its way.
    const workspaceSlot = slots.takeEager({ queue: request.queue, jobId: request.jobId, data: request.data }, log);
    workspaceSlot.catch(() => undefined);
    let held = true;
    const giveBackJobSlot = (): void => {
      if (held) releaseEagerSlots(policy, 1);
      held = false;
    };
    return {
      startRoot: { nodeId: root.node.id, workerId: deps.workerId, readResultsOf: root.reads },
      run: async (started, startedAt) => {
        try {
          const release = await workspaceSlot;
          if (release === null) {
            // Over the cap: its job takes its place in the line (started in hot state, it starts again when run).
            deps.metrics.eagerDispatchTotal.inc({ result: 'handed_over' });
            await deps.queue.add(request);
            return;
          }
          deps.metrics.eagerDispatchTotal.inc({ result: 'started' });
          try {
            // The root's own run, then the lanes of what its commit started (as a node job does).
            const rootRun = eagerRunOf(request, lease.signal);
            const start: StartedNode = { kind: 'started', input: started.input, results: started.results, events: [] };
            const eager = { policy, leaseJobId: request.jobId };
            await runLanes({ deps, slots, policy, job: rootRun, flow }, await runStarted(deps, { run: rootRun, resolved: root, flow, start, startedAt: new Date(startedAt), log, eager }));
          } catch (err) {
            await handOver(deps, { request, err, log });
          } finally {
            await release();
          }
        } finally {
          giveBackJobSlot();
        }
      },
      release: async () => {
        if (!held) return;
        giveBackJobSlot();
        const release = await workspaceSlot.catch(() => null);
        await release?.();
      },
    };
  };
  return { nodes, runRoot };
}

function runNodeJob(deps: NodeProcessorDeps, slots: NodeSlots): JobHandler<NodeJobData> {
  const policy = deps.eagerDispatch ?? { enabled: true };
  return async (job) => {
    // A job that an eager run handed over carries the attempts that run spent.
    const prior = job.data.priorAttempts ?? 0;
    const run: JobContext<NodeJobData> = prior === 0 ? job : { ...job, attempt: job.attempt + prior, maxAttempts: job.maxAttempts + prior };
    const data = run.data;
    const log = deps.logger.child({ executionId: data.executionId, nodeId: data.nodeId, jobId: job.id, attempt: run.attempt });
    const flow = await deps.flows.get(data.flowId, data.flowVersion);
    const resolved = resolveNode(flow, data.nodeId);
    if (!resolved) throw new WeftError('FLOW_VERSION_NOT_FOUND', `node '${data.nodeId}' is not in flow ${data.flowId} v${data.flowVersion}`);
    const { node, item } = resolved;

    // A wait rebuilt after a restart carries on its first spell: same deadline, same token.
    const startedAt = node.type === 'wait' && data.waitingSince !== undefined ? new Date(data.waitingSince) : deps.clock();
    const start = await deps.state.startNode({
      executionId: data.executionId,
      nodeId: node.id,
      attempt: run.attempt,
      workerId: deps.workerId,
      at: startedAt.toISOString(),
      readResultsOf: resolved.reads,
      ...(item ? { mapItem: { mapId: item.map.node.id, index: item.index, round: data.mapRound ?? 0 } } : {}),
    });

    switch (start.kind) {
      case 'gone':
        log.info({ mapRound: data.mapRound ?? 0 }, 'map item node reset by a retry since its job was enqueued: not run');
        return;
      case 'missing':
        // Hot state is gone (expired or Redis lost it): the recovery sweep rebuilds it.
        log.warn('node job for an execution without hot state: left to recovery');
        return;
      case 'execution-ended':
        // This job may run again because what followed its own commit, which ended the
        // execution, failed (Redis went away before the flush append): the end is appended again
        // so that Postgres gets it. Finalizing is idempotent, and writes the node rows it lacks.
        await deps.flushLog.append([{ kind: 'execution', executionId: data.executionId }]);
        log.debug({ status: start.status }, 'execution already ended: node not run, its end flushed again');
        return;
      case 'node-terminal': {
        // A redelivered job whose node committed before the worker died: re-enqueue what the
        // commit made ready, and what ran under this job by eager dispatch and is still open
        // (duplicates are dropped by job id).
        const healed = await deps.state.readyAfter({ executionId: data.executionId, nodeId: node.id, leaseJobId: job.id });
        if (healed && healed.ready.length > 0) await deps.queue.addBulk(childJobs(data, healed.ready, flow, healed.round));
        log.info({ ready: healed?.ready ?? [] }, 'node already committed: what it made ready re-enqueued');
        return;
      }
      case 'started':
        break;
    }
    if (node.type === 'wait') {
      await suspendWait({ state: deps.state, flushLog: deps.flushLog, queue: deps.queue, resumeLinks: deps.resumeLinks, data, node, at: startedAt, log });
      return;
    }
    const map = node.type === 'map' ? flow.maps.get(node.id) : undefined;
    if (map) {
      await runMap(deps, {
        data, map, flow, started: start, startedAt, attempt: run.attempt, jobId: job.id, workerId: deps.workerId, log,
      });
      return;
    }

    const eager = { policy, leaseJobId: job.id };
    await runLanes({ deps, slots, policy, job, flow }, await runStarted(deps, { run, resolved, flow, start, startedAt, log, eager }));
  };
}

/** What the lanes of a job run with: the job is their lease (eager-dispatch.ts). */
interface LaneContext {
  deps: NodeProcessorDeps;
  slots: NodeSlots;
  policy: EagerDispatchPolicy;
  job: Pick<JobContext<NodeJobData>, 'id' | 'signal' | 'data'>;
  flow: CompiledFlow;
}

/**
 * Runs the nodes started for a job: the first in the job's own lane (on the job's slots), each
 * other beside it in a lane of its own (a job slot taken for it already, a workspace slot taken
 * here). A lane goes on with the first child each commit starts; the job ends when all have.
 */
async function runLanes(ctx: LaneContext, started: readonly EagerNext[]): Promise<void> {
  const { deps, slots, policy, job, flow } = ctx;
  const data = job.data;
  const lanes: Array<Promise<void>> = [];
  const eager = { policy, leaseJobId: job.id };
  const runLane = async (first: EagerNext | undefined, own: { jobSlot: boolean }): Promise<void> => {
    let next = first;
    let releaseWorkspaceSlot: (() => Promise<void>) | null = null;
    try {
      while (next) {
        const [request] = childJobs(data, [next.nodeId], flow, next.mapItem?.round ?? 0);
        const child = request ? resolveNode(flow, next.nodeId) : undefined;
        if (!request || !child) break;
        const childLog = deps.logger.child({ executionId: data.executionId, nodeId: next.nodeId, jobId: request.jobId, attempt: 1, leaseJobId: job.id });
        if (own.jobSlot && releaseWorkspaceSlot === null) {
          // Beside the job's own node: a slot of the workspace's cap, under the child's job id.
          releaseWorkspaceSlot = await slots.takeEager({ queue: request.queue, jobId: request.jobId, data: request.data }, childLog);
          if (releaseWorkspaceSlot === null) {
            // Over the cap: its job takes its place in the line (started in hot state, it starts again when run).
            deps.metrics.eagerDispatchTotal.inc({ result: 'handed_over' });
            await deps.queue.add(request);
            break;
          }
        }
        const childStart: StartedNode = { kind: 'started', input: next.input, results: next.results, events: [], ...('item' in next ? { item: next.item } : {}) };
        deps.metrics.eagerDispatchTotal.inc({ result: 'started' });
        try {
          const started = await runStarted(deps, { run: eagerRunOf(request, job.signal), resolved: child, flow, start: childStart, startedAt: new Date(next.startedAt), log: childLog, eager });
          next = started[0];
          for (const more of started.slice(1)) lanes.push(runLane(more, { jobSlot: true }));
        } catch (err) {
          // The child's attempt failed and may run again, or what followed it failed: the queue
          // takes the child over, with the attempts it has left.
          await handOver(deps, { request, err, log: childLog });
          next = undefined;
        }
      }
    } finally {
      if (own.jobSlot) releaseEagerSlots(policy, 1);
      await releaseWorkspaceSlot?.();
    }
  };
  const [first, ...more] = started;
  for (const next of more) lanes.push(runLane(next, { jobSlot: true }));
  await settleLanes(runLane(first, { jobSlot: false }), lanes);
}

/**
 * Waits for the job's own lane and every other, those started while waiting included, and throws
 * the first failure once all have ended: the job must stay active (the lease of what they run)
 * until the last one has.
 */
async function settleLanes(own: Promise<void>, lanes: Array<Promise<void>>): Promise<void> {
  const outcomes = await Promise.allSettled([own]);
  for (let settled = 0; settled < lanes.length;) {
    const batch = lanes.slice(settled);
    settled = lanes.length;
    outcomes.push(...await Promise.allSettled(batch));
  }
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A node run at once in this process (a root, an eager child) as its own job's attempt 1, under its lease's signal. */
function eagerRunOf(request: EnqueueRequest<NodeJobData>, signal: AbortSignal): JobContext<NodeJobData> {
  return { id: request.jobId, name: request.name, queue: request.queue, data: request.data, attempt: 1, maxAttempts: request.attempts ?? 1, signal };
}

/** A started node that runs an executor, and what runStarted needs to run and commit it. */
type StartedNode = Extract<StartNodeResult, { kind: 'started' }>;

/**
 * After an eager run's attempt failed: the child's own job is enqueued the way the queue would
 * have retried it (after the backoff, one attempt spent) or re-delayed it (a dependency: no
 * attempt spent). A failure for good was committed already, or (an unexpected error) fails the
 * job as the queue would fail it.
 */
async function handOver(deps: Pick<NodeProcessorDeps, 'queue' | 'metrics'>, input: { request: EnqueueRequest<NodeJobData>; err: unknown; log: Logger }): Promise<void> {
  const { request, log } = input;
  const error = toWeftError(input.err);
  const decision = retryDecision({ error, attempt: 1, maxAttempts: request.attempts ?? 1, backoff: request.backoff });
  switch (decision.kind) {
    case 'redelay':
      deps.metrics.eagerDispatchTotal.inc({ result: 'handed_over' });
      await deps.queue.add({ ...request, delayMs: decision.delayMs });
      return;
    case 'retry':
      deps.metrics.eagerDispatchTotal.inc({ result: 'handed_over' });
      await deps.queue.add({ ...request, data: { ...request.data, priorAttempts: 1 }, attempts: (request.attempts ?? 1) - 1, delayMs: decision.delayMs });
      return;
    case 'fail':
      deps.metrics.eagerDispatchTotal.inc({ result: 'failed' });
      log.error({ err: input.err, code: error.code }, 'eagerly run node failed unexpectedly: left as a failed job would leave it');
      return;
  }
}

/** The child a commit started (CommitNodeResult.eager) with the time it started at. */
type EagerNext = EagerStart & { startedAt: string };

/** Nodes a fused run commits in one step at most (node-job.ts, runStarted). */
export const MAX_FUSED_STEPS = 32;

/** A started node that ran, and where it sits in its flow. */
interface RanNode {
  run: JobContext<NodeJobData>;
  resolved: ResolvedNode;
  start: StartedNode;
  log: Logger;
  executed: Executed;
}

/**
 * Runs a started node's executor, decides on a failure (re-delay, retry: thrown for the queue),
 * and commits the result; answers the children the commit started for this worker (the first to
 * continue with in this lane, each other in a job slot taken for it here).
 *
 * A fused run: while the node that ran completed and its one child may be fused (fusableChild),
 * that child runs next, in memory, on the results at hand, without a commit between the two;
 * the nodes are then committed in one step (commitRun), each starting the next as an eager child
 * would be started. A fused child is a pure evaluation: one that failed for good ends the run
 * and is committed failed with it; one whose attempt would run again, or whose run stops early
 * (the execution ended meanwhile), is dropped, and runs again the usual way.
 */
async function runStarted(deps: NodeProcessorDeps, args: {
  run: JobContext<NodeJobData>;
  resolved: ResolvedNode;
  flow: CompiledFlow;
  start: StartedNode;
  startedAt: Date;
  log: Logger;
  eager: { policy: EagerDispatchPolicy; leaseJobId: string };
}): Promise<EagerNext[]> {
  const { flow, eager } = args;
  const executed = await executeStarted(deps, args);
  if (!executed) return [];
  const ran: RanNode[] = [{ run: args.run, resolved: args.resolved, start: args.start, log: args.log, executed }];
  // What the nodes of the run may read: what their starts read, and their own results.
  const known: Record<string, NodeResult> = { ...args.start.results };
  for (;;) {
    const parent = ran[ran.length - 1];
    if (!parent || ran.length >= MAX_FUSED_STEPS) break;
    known[parent.resolved.node.id] = parent.executed.result;
    const child = fusableChild(eager.policy, flow, parent, known);
    if (!child) break;
    const [request] = childJobs(parent.run.data, [child.node.id], flow);
    if (!request) break;
    const run = eagerRunOf(request, parent.run.signal);
    const log = deps.logger.child({ executionId: request.data.executionId, nodeId: child.node.id, jobId: request.jobId, attempt: 1, leaseJobId: eager.leaseJobId });
    const results: Record<string, NodeResult> = {};
    for (const id of child.reads) if (known[id]) results[id] = known[id];
    const start: StartedNode = { kind: 'started', input: args.start.input, results, events: [] };
    const childRan = await executeStarted(deps, { run, resolved: child, start, startedAt: new Date(parent.executed.result.finishedAt), log, speculative: true });
    if (!childRan) break;
    ran.push({ run, resolved: child, start, log, executed: childRan });
  }

  const lastRan = ran[ran.length - 1];
  const candidates = lastRan ? eagerCandidates(eager.policy, flow, lastRan.resolved) : [];
  // Room for children beside the one this lane continues with: taken now, what the commit did
  // not start given back.
  const extra = candidates.length > 1 ? takeEagerSlots(eager.policy, candidates.length - 1) : 0;
  let started: EagerNext[] = [];
  try {
    started = await commitRun(deps, flow, ran.map((node, i): CommitStep => {
      const next = ran[i + 1];
      const { result, failure, intent, runtimeMs } = node.executed;
      const eagerRequest = next
        ? { candidates: [{ nodeId: next.resolved.node.id, readResultsOf: [] }], leaseJobId: eager.leaseJobId, workerId: deps.workerId, max: 1 }
        : candidates.length > 0 ? { candidates, leaseJobId: eager.leaseJobId, workerId: deps.workerId, max: 1 + extra } : undefined;
      return {
        data: node.run.data, node: node.resolved.node, result, failure, intent, log: node.log, runtimeMs, attempt: node.run.attempt, jobId: node.run.id,
        ...(eagerRequest ? { eager: eagerRequest } : {}),
      };
    }));
  } finally {
    releaseEagerSlots(eager.policy, extra - Math.max(0, started.length - 1));
  }
  return started;
}

/**
 * The child `parent` may run at once, fused with it (runStarted), or null: `parent` completed
 * and leads to one child only, taken; that child is of a fusable type (NodeTypeSpec.fusable)
 * this worker runs, has no other parent (so the parent's commit makes it ready), is not a map
 * item's node, and reads only results at hand.
 */
function fusableChild(policy: EagerDispatchPolicy, flow: CompiledFlow, parent: RanNode, known: Record<string, NodeResult>): ResolvedNode | null {
  const { result, intent } = parent.executed;
  if (parent.resolved.item || result.status !== 'completed' || intent.failExecution) return null;
  const [id, ...others] = parent.resolved.children;
  if (id === undefined || others.length > 0 || !intent.takenChildren.includes(id)) return null;
  const child = resolveNode(flow, id);
  if (!child || child.item || nodeTypeSpecs[child.node.type].fusable !== true || !runsEagerlyHere(policy, child.node)) return null;
  if ((flow.graph.parents.get(id) ?? []).length !== 1) return null;
  return child.reads.every((read) => known[read] !== undefined) ? child : null;
}

/** A node's run up to its commit: its result, and what that does to the graph. */
interface Executed {
  result: NodeResult;
  failure: WeftError | null;
  intent: CommitIntent;
  runtimeMs: number;
}

/**
 * Runs a started node's executor and decides on a failure (re-delay, retry: thrown for the
 * queue); answers the result to commit, or null when there is none: a task node was parked, or a
 * speculative run (a fused child) failed in a way that would run it again.
 */
async function executeStarted(deps: NodeProcessorDeps, args: {
  run: JobContext<NodeJobData>;
  resolved: ResolvedNode;
  start: StartedNode;
  startedAt: Date;
  log: Logger;
  /** A fused child: a failed attempt that would run again is dropped (null), not decided on. */
  speculative?: boolean;
}): Promise<Executed | null> {
  const { run: job, resolved, start, startedAt, log } = args;
  const data = job.data;
  const { node, item, children } = resolved;
    const tokens = new TokenCoalescer(async (text) => {
      await deps.events.publish({
        type: 'node.token',
        executionId: data.executionId,
        flowId: data.flowId,
        workspaceId: data.workspaceId,
        nodeId: node.id,
        at: deps.clock().toISOString(),
        data: { attempt: job.attempt, text },
      });
    });
    // A type that enforces its own timeoutMs (code) fails with its own code; no second timer races it.
    const aborts = nodeSignal(job.signal, node.timeoutMs === undefined || nodeTypeSpecs[node.type].timesItself === true ? null : node.timeoutMs);
    const { signal } = aborts;
    const unregister = deps.running?.register(data.executionId, aborts.cancel, node.id) ?? (() => undefined);
    const t0 = performance.now();

    let outcome: NodeOutcome | null = null;
    let failure: WeftError | null = null;
    try {
      if (node.type === 'llm' && data.maxCostUsd !== undefined) {
        const spent = await executionSpend(deps, data.executionId);
        if (spent > data.maxCostUsd) {
          throw new WeftError('BUDGET_EXCEEDED', `the execution has spent $${spent} of its $${data.maxCostUsd} budget: LLM node '${node.id}' was not started`);
        }
      }
      // Only the results this node reads came back: the references among them are resolved.
      const results = await deps.claimCheck.resolveResults(data.workspaceId, start.results);
      if (node.type === 'task') {
        // An external worker runs it: the node is parked, and this job ends (it holds no fleet slot).
        const renderedInput = renderTaskInput(node, { input: start.input, results });
        await suspendTask(deps, { data, node, renderedInput, at: startedAt, log });
        return null;
      }
      outcome = await deps.runNode({
        node,
        outEdges: resolved.outEdges,
        workspaceId: data.workspaceId,
        executionId: data.executionId,
        attempt: job.attempt,
        input: start.input,
        // A map item's node reads its siblings by their own ids, and its item.
        results: item ? itemResults(results, node.id) : results,
        ...(item ? { scope: { item: start.item ?? null, index: item.index } } : {}),
        ...(data.maxCostUsd === undefined ? {} : { maxCostUsd: data.maxCostUsd }),
        signal,
        logger: log,
        emitToken: (text) => { tokens.push(text); },
      });
    } catch (err) {
      const cancelled = aborts.cancelled();
      if (cancelled) failure = new WeftError('NODE_CANCELLED', `node '${node.id}' was cancelled: ${describeAbort(cancelled.reason)}`, { cause: err });
      else if (aborts.timedOut() && !job.signal.aborted) failure = new WeftError('NODE_TIMEOUT', `node '${node.id}' timed out after ${node.timeoutMs ?? 0} ms`, { cause: err });
      else failure = toWeftError(err);
    } finally {
      unregister();
      aborts.dispose();
    }
    await tokens.flush();
    const runtimeMs = Math.round(performance.now() - t0);
    const finishedAt = deps.clock();

    if (failure) {
      // The queue makes the same decision on what is thrown here: a node that runs again is
      // not committed.
      const decision = retryDecision({ error: failure, attempt: job.attempt, maxAttempts: job.maxAttempts });
      // A fused child that would run again is dropped: it runs as an eager child, where this is
      // decided for good. One that failed for good is committed with its run, as it would be alone.
      if (decision.kind !== 'fail' && args.speculative === true) return null;
      switch (decision.kind) {
        case 'redelay':
          // Postgres or Redis is unreachable: not the node's fault. The queue re-delays the job
          // without spending an attempt, and the node runs again once the dependency is back.
          deps.metrics.errorsTotal.inc({ category: failure.category, code: failure.code });
          log.warn({ code: failure.code, err: failure.message }, 'dependency unavailable: node re-delayed');
          throw failure;
        case 'retry':
          // Tokens a failed attempt was billed for still count: the totals are what was spent.
          if (failure.billed) await deps.spendLedger.record({ executionId: data.executionId, nodeId: node.id, spend: failure.billed });
          deps.metrics.nodeAttemptsTotal.inc({ node_type: node.type, result: 'retry' });
          deps.metrics.errorsTotal.inc({ category: failure.category, code: failure.code });
          log.warn({ code: failure.code, category: failure.category, err: failure.message }, 'node attempt failed: retrying');
          await deps.events.publish({
            type: 'node.retrying',
            executionId: data.executionId,
            flowId: data.flowId,
            workspaceId: data.workspaceId,
            nodeId: node.id,
            at: finishedAt.toISOString(),
            data: { attempt: job.attempt, nextAttempt: job.attempt + 1, error: toNodeError(failure) },
          });
          throw failure;
        case 'fail':
          break;
      }
    }

    // The node's usage and cost include what its earlier, failed attempts were billed for.
    const prior = job.attempt > 1 ? (await deps.spendLedger.get(data.executionId))[node.id] : undefined;
    const parts = [outcome ? { usage: outcome.usage, cost: outcome.cost } : failure?.billed, prior].filter((p) => p !== undefined);
    const billedParts = parts.filter((p) => p.usage !== null);
    const cost = sumCost(parts);
    // What a node brings back (an LLM answer, an http response, a provider's error) is made
    // storable: a NUL or lone surrogate in it would fail the flusher's batch for every tenant.
    // A large output or resolved input is stored apart first, and referenced (claim check).
    const stored = async (field: 'output' | 'input', value: unknown): Promise<unknown> =>
      deps.claimCheck.store({ executionId: data.executionId, nodeType: node.type, field, value, log });
    const [output, input] = await Promise.all([outcome ? stored('output', outcome.output) : null, stored('input', outcome?.resolvedInput ?? null)]);
    const result: NodeResult = {
      // Aborted by a cancel (of the execution, or of its cut map): cancelled, not failed.
      status: failure ? (aborts.cancelled() ? 'cancelled' : 'failed') : 'completed',
      output,
      // Codes leave the engine lowercased, as every code in the api contract is.
      error: failure ? storableJson(toNodeError(failure)) : null,
      usage: billedParts.length > 0 ? sumUsage(billedParts) : null,
      cost,
      ...nodePricing({ outcome, billed: failure?.billed, cost, billedTokens: billedParts.length > 0 }),
      attempts: job.attempt,
      input,
      provider: outcome?.provider ?? (node.type === 'llm' ? node.provider : null),
      model: outcome?.model ?? (node.type === 'llm' ? node.model : null),
      workerId: deps.workerId,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      runtimeMs,
      ...nodeLogs(outcome?.logs ?? failure?.logs),
    };
    const intent = commitIntent({
      node, outcome: outcomeOf(result.status), failure: result.error, children,
      chosen: outcome?.takenChildren?.map((id) => scoped(resolved, id)), mapItem: item !== undefined,
    });
    return { result, failure, intent, runtimeMs };
}

/**
 * How a node's cost was priced, as its executor said, or what its failed attempts' billing
 * shows (the spend ledger keeps tokens and cost, not how they were priced): tokens without a
 * cost are unpriced. Nothing for a node that billed no tokens.
 */
function nodePricing(input: { outcome: NodeOutcome | null; billed: Spend | undefined; cost: Cost | null; billedTokens: boolean }): Pick<NodeResult, 'pricing' | 'pricedAs'> {
  const said = input.outcome?.pricing ?? input.billed?.pricing;
  if (said) return { pricing: said, pricedAs: input.outcome?.pricedAs ?? null };
  if (!input.billedTokens) return {};
  return { pricing: input.cost ? 'priced' : 'unpriced', pricedAs: null };
}

/** A node's console lines, kept on its result when it wrote any (code nodes). */
function nodeLogs(logs: NodeResult['logs']): Pick<NodeResult, 'logs'> {
  return logs && logs.length > 0 ? { logs: storableJson(logs) } : {};
}

/** A sub-graph id as the hot-state id of the same item (flow ids stay as they are). */
function scoped(resolved: ResolvedNode, id: string): string {
  return resolved.item ? mapItemNodeId(resolved.item.map.node.id, resolved.item.index, id) : id;
}

/** Results keyed as a map item's node's templates name them: its item's nodes by their own ids. */
function itemResults(results: Record<string, NodeResult>, nodeId: string): Record<string, NodeResult> {
  const self = parseMapItemNodeId(nodeId);
  const local: Record<string, NodeResult> = {};
  for (const [id, result] of Object.entries(results)) {
    const parsed = parseMapItemNodeId(id);
    local[parsed && self && parsed.mapId === self.mapId && parsed.index === self.index ? parsed.nodeId : id] = result;
  }
  return local;
}

function describeAbort(reason: unknown): string {
  return reason instanceof Error ? reason.message : 'the execution was cancelled';
}


/**
 * What the execution has spent so far: committed results (which include their failed
 * attempts) plus the billed failed attempts of nodes still running.
 */
async function executionSpend(deps: { state: StateStore; spendLedger: SpendLedger }, executionId: string): Promise<number> {
  const [hot, spend] = await Promise.all([deps.state.getExecution(executionId), deps.spendLedger.get(executionId)]);
  const costs: Array<{ cost: NodeResult['cost'] }> = [];
  for (const [nodeId, node] of Object.entries(hot?.nodes ?? {})) {
    if (node.result) costs.push(node.result);
    else if (spend[nodeId]) costs.push(spend[nodeId]);
  }
  return sumCost(costs)?.totalCost ?? 0;
}
