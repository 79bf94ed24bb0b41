/**
 * Starting executions: the row is written first (idempotently), then the execution is admitted
 * under its workspace's in-flight cap and execution.queued published (one Redis script), then
 * the execution job enqueued. A flow run and a single-node run differ only in the row; the
 * enqueue is shared.
 *
 * A start refused after its row was written (at the cap, or Redis unreachable) deletes the row,
 * so that the recovery sweep never runs what the api refused; when the row cannot be deleted,
 * the start is answered as accepted, because the sweep will run it.
 */
import { createHash } from 'node:crypto';
import { WeftError, toWeftError, type ErrorDetail } from '../errors/index.js';
import { buildFlowGraph, compileInputSchema, nodeReads } from '../flow/index.js';
import { executionJob, executionJobStart } from '../jobs/index.js';
import { assertBudgetPriced } from './budget-pricing.js';
import type { FlowCache } from './flow-cache.js';
import type { StartBatcher } from './start-batcher.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { ExecutionPriority, NodeResult } from '../model/index.js';
import type { ExecutionRow, FlowRecord, NodeRunRow, Repos } from '../ports/database.js';
import type { EventDraft } from '../model/index.js';
import type { EventBus, ExecutionAdmission, JobQueue } from '../ports/index.js';

export interface StartDeps {
  repos: Pick<Repos, 'executions' | 'flows' | 'nodeRuns' | 'pricing' | 'workspaces'>;
  queue: JobQueue;
  events: EventBus;
  admission: ExecutionAdmission;
  /** Flow versions and the latest version of each flow, for the one-round-trip start; absent: every start reads the flow. */
  flows?: FlowCache | undefined;
  /** Writes the one-round-trip starts, several per statement under load; needed with `flows`. */
  starts?: StartBatcher | undefined;
  /** WEFT_WORKSPACE_MAX_IN_FLIGHT; 0 or absent: no cap. */
  workspaceMaxInFlight?: number | undefined;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
}

/** A written execution row, and whether this call wrote it (false: an Idempotency-Key replay). */
export interface CreatedExecution {
  execution: ExecutionRow;
  created: boolean;
}

export interface CreateExecutionInput {
  workspaceId: string;
  flowId: string;
  /** Default: the latest version. */
  version?: number | undefined;
  input: unknown;
  idempotencyKey?: string | null | undefined;
  maxCostUsd?: number | null | undefined;
  /** Order of its node jobs in their queues; default normal. */
  priority?: ExecutionPriority | undefined;
  /** What started it, when not an API call: a schedule's tick or an inbound webhook's call. */
  scheduleId?: string | null | undefined;
  hookId?: string | null | undefined;
}

/** Writes the row of a flow run (NOT_FOUND for an unknown flow or version). */
export async function createExecution(deps: StartDeps, input: CreateExecutionInput): Promise<CreatedExecution> {
  const cached = await createFromCachedFlow(deps, input);
  if (cached) return { execution: cached, created: true };
  const { workspaceId, version } = input;
  const flow = await deps.repos.flows.get({ workspaceId, flowId: input.flowId, ...(version ? { version } : {}) });
  if (!flow) throw new WeftError('NOT_FOUND', version ? `flow ${input.flowId} version ${version} not found` : `flow ${input.flowId} not found`);
  if (version === undefined) deps.flows?.rememberLatest(workspaceId, flow.id, flow.version);
  const idempotencyKey = input.idempotencyKey ?? null;
  if (idempotencyKey !== null && inputProblems(deps, flow, input.input).length > 0) {
    // A replay answers the execution its key started, even if the flow's inputSchema has since
    // come to refuse that input (and is not counted as a refusal).
    const replayed = await deps.repos.executions.findIdempotent({ workspaceId, idempotencyKey, idempotencyFingerprint: startFingerprint(input) });
    if (replayed) return { execution: replayed, created: false };
  }
  assertInputMatches(deps, flow, input.input);
  if (input.maxCostUsd) await assertBudgetPriced(deps, { workspaceId, flow });
  return deps.repos.executions.create({
    workspaceId,
    flowId: flow.id,
    flowVersion: flow.version,
    input: input.input ?? null,
    idempotencyKey,
    ...(idempotencyKey === null ? {} : { idempotencyFingerprint: startFingerprint(input) }),
    maxCostUsd: input.maxCostUsd ?? null,
    ...(input.priority ? { priority: input.priority } : {}),
    scheduleId: input.scheduleId ?? null,
    hookId: input.hookId ?? null,
  });
}

/** The problems of an input against its flow version's inputSchema (none without one); compiled once per version with a FlowCache. */
function inputProblems(deps: Pick<StartDeps, 'flows'>, flow: FlowRecord, input: unknown): ErrorDetail[] {
  if (!flow.inputSchema) return [];
  const validate = deps.flows ? deps.flows.inputValidator(flow) : compileInputSchema(flow.inputSchema);
  return validate ? validate(input) : [];
}

/**
 * Every start (API, single-node run, schedule tick, webhook) checks its input against the flow's
 * inputSchema before anything is written: INVALID_INPUT (400) with one detail per problem, each
 * at its path under `/input`.
 */
export function assertInputMatches(deps: Pick<StartDeps, 'flows' | 'metrics' | 'logger'>, flow: FlowRecord, input: unknown): void {
  const details = inputProblems(deps, flow, input);
  const first = details[0];
  if (!first) return;
  deps.metrics.executionsRefusedTotal.inc({ code: 'INVALID_INPUT' });
  deps.logger.info({ workspaceId: flow.workspaceId, flowId: flow.id, flowVersion: flow.version, problems: details.length }, 'start refused: the input does not match the inputSchema');
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  throw new WeftError('INVALID_INPUT', `the input does not match the flow's inputSchema: ${first.path} ${first.message}${more}`, { details });
}

/**
 * What an Idempotency-Key's start asked for, as a digest: the flow, the version asked (not the
 * one it resolved to), the input and the budget. `wait` and `timeoutMs` shape the answer only.
 */
export function startFingerprint(input: CreateExecutionInput): string {
  const request = {
    flowId: input.flowId.toLowerCase(), version: input.version ?? null, input: input.input ?? null, maxCostUsd: input.maxCostUsd ?? null,
    // Only a priority other than the default counts: keys used before priorities existed still match.
    ...(input.priority && input.priority !== 'normal' ? { priority: input.priority } : {}),
  };
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** JSON with every object's keys sorted, so that equal values give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The common start in one Postgres round trip: the flow version comes from the process's cache
 * and the insert checks, in the same statement, that the flow is live and (unless a version was
 * pinned) that the version is still its latest. Null, having written nothing, when the cache
 * cannot answer or was stale, or for a start it does not cover (an Idempotency-Key): the caller
 * then reads the flow from Postgres.
 */
async function createFromCachedFlow(deps: StartDeps, input: CreateExecutionInput): Promise<ExecutionRow | null> {
  const { workspaceId, flowId } = input;
  const { flows: cache, starts } = deps;
  if (!cache || !starts || (input.idempotencyKey ?? null) !== null) return null;
  const latest = input.version === undefined;
  const version = input.version ?? cache.latest(workspaceId, flowId);
  const flow = version === undefined ? null : (await cache.find(flowId, version))?.record;
  if (!flow || flow.workspaceId !== workspaceId) {
    deps.metrics.startFlowCacheTotal.inc({ result: 'miss' });
    return null;
  }
  // A pinned version never changes: its refusal is final. The latest may be stale: the caller checks the fresh one.
  if (!latest) assertInputMatches(deps, flow, input.input);
  else if (inputProblems(deps, flow, input.input).length > 0) return null;
  if (input.maxCostUsd) {
    // A refusal checked against a stale version is not final: the caller checks the fresh one.
    try {
      await assertBudgetPriced(deps, { workspaceId, flow });
    } catch {
      return null;
    }
  }
  const row = await starts.write(workspaceId, {
    flowId: flow.id, flowVersion: flow.version, latest, input: input.input ?? null, maxCostUsd: input.maxCostUsd ?? null,
    ...(input.priority ? { priority: input.priority } : {}),
    scheduleId: input.scheduleId ?? null, hookId: input.hookId ?? null,
  });
  if (!row) {
    if (latest) cache.forgetLatest(workspaceId, flowId);
    deps.metrics.startFlowCacheTotal.inc({ result: 'stale' });
    deps.logger.debug({ workspaceId, flowId, flowVersion: flow.version }, 'cached flow version stale: the start reads the flow');
    return null;
  }
  deps.metrics.startFlowCacheTotal.inc({ result: 'hit' });
  return row;
}

/**
 * Writes the row of a single-node run: the node alone, its references filled from the newest
 * completed runs of the nodes it reads (CONFLICT, naming them, when one never completed).
 */
export async function createSingleNodeRun(deps: StartDeps, input: { workspaceId: string; flowId: string; nodeId: string; input: unknown }): Promise<CreatedExecution> {
  const { workspaceId, flowId, nodeId } = input;
  const flow = await deps.repos.flows.get({ workspaceId, flowId });
  if (!flow) throw new WeftError('NOT_FOUND', `flow ${flowId} not found`);
  const node = flow.nodes.find((n) => n.id === nodeId);
  if (!node) throw new WeftError('NOT_FOUND', `node '${nodeId}' of flow ${flowId} not found`);
  assertInputMatches(deps, flow, input.input);
  const reads = nodeReads(buildFlowGraph(flow), node);
  const latest = await deps.repos.nodeRuns.latestCompleted({ workspaceId, flowId: flow.id, nodeIds: reads });
  const missing = reads.filter((id) => !latest.has(id));
  if (missing.length > 0) {
    deps.logger.info({ flowId: flow.id, nodeId, missing }, 'single-node run refused: upstream never completed');
    throw new WeftError('CONFLICT', `node '${nodeId}' reads ${missing.map((id) => `'${id}'`).join(', ')}, which never completed in this flow`, {
      details: missing.map((id) => ({ path: `/nodes/${id}`, message: 'never completed' })),
    });
  }
  const now = deps.clock();
  const presetResults = Object.fromEntries([...latest].map(([id, run]) => [id, presetFromRun(run, now)]));
  return deps.repos.executions.create({ workspaceId, flowId: flow.id, flowVersion: flow.version, input: input.input ?? null, singleNodeId: nodeId, presetResults });
}

/**
 * Admits a new row under its workspace's in-flight cap, publishing execution.queued in the same
 * Redis round trip, then enqueues its job. Also for an idempotent replay of a still-queued
 * execution: that heals a crash between the insert and the enqueue (the job id dedupes).
 *
 * - At the cap: the row is deleted, WORKSPACE_QUOTA_EXCEEDED (429).
 * - Redis unreachable before the admission: the row is deleted, DEPENDENCY_UNAVAILABLE (503);
 *   nothing of the execution reached Redis, and the row is gone, so it never runs.
 * - A row that cannot be deleted (Postgres unreachable too), a replay, or a job the queue
 *   refused after the admission: the row stays `queued`, the recovery sweep enqueues it once
 *   Redis answers, and the start is answered as accepted (it will run).
 */
export async function enqueueExecution(deps: StartDeps, { execution, created }: CreatedExecution): Promise<void> {
  const { workspaceId, flowId } = execution;
  // Built only on the paths that log more than the one line of a start (a child logger per
  // request was a few percent of the api's CPU).
  let child: Logger | undefined;
  const log = (): Logger => (child ??= deps.logger.child({ executionId: execution.id, workspaceId }));
  const queuedEvent: EventDraft | null = created
    ? {
      type: 'execution.queued', executionId: execution.id, flowId, workspaceId,
      at: execution.createdAt.toISOString(),
      data: { flowVersion: execution.flowVersion, ...(execution.singleNodeId === null ? {} : { singleNodeId: execution.singleNodeId }) },
    }
    : null;
  const admit = created || execution.status === 'queued';
  if (admit) {
    let admitted;
    try {
      // A replay was admitted (or not) by the call that wrote the row: no check for it.
      admitted = await deps.admission.admit({ workspaceId, executionId: execution.id, max: created ? deps.workspaceMaxInFlight ?? 0 : 0, event: queuedEvent });
    } catch (err) {
      if (!created) {
        log().warn({ err }, 'replayed start not re-enqueued: the recovery sweep will enqueue it');
        return;
      }
      if (!(await rollBack(deps, execution, 'dependency', log()))) return;
      log().warn({ err }, 'start refused: redis unreachable, row deleted');
      throw new WeftError('DEPENDENCY_UNAVAILABLE', 'the queue is unavailable; nothing was started, retry later', { cause: toWeftError(err), retryAfterMs: 1000 });
    }
    if (!admitted.admitted) {
      deps.metrics.quotaRefusalsTotal.inc({ quota: 'in_flight' });
      if (await rollBack(deps, execution, 'quota', log())) {
        const max = deps.workspaceMaxInFlight ?? 0;
        log().info({ inFlight: admitted.inFlight, max }, 'start refused: workspace at its in-flight cap');
        throw new WeftError('WORKSPACE_QUOTA_EXCEEDED', `the workspace has ${admitted.inFlight} executions in flight (at most ${max}); retry when some have ended`, { retryAfterMs: 1000 });
      }
      return;
    }
  }
  if (execution.status === 'queued') {
    try {
      const start = executionJobStart(execution);
      await deps.queue.add(executionJob({ executionId: execution.id, workspaceId, ...(start ? { start } : {}) }));
    } catch (err) {
      // Admitted and announced: the row stays queued and the recovery sweep enqueues it.
      log().warn({ err }, 'execution stored but not enqueued: the recovery sweep will enqueue it');
    }
  }
  if (created) {
    deps.metrics.executionsTotal.inc({ status: 'queued' });
    deps.logger.info({ executionId: execution.id, workspaceId, flowId, flowVersion: execution.flowVersion, singleNodeId: execution.singleNodeId }, 'execution queued');
  }
}

/**
 * Deletes a refused start's row (it must never run); true when it is gone. When it cannot be
 * deleted, the sweep will run it: false, and the caller answers the start as accepted.
 */
async function rollBack(deps: StartDeps, execution: ExecutionRow, reason: 'dependency' | 'quota', log: Logger): Promise<boolean> {
  let deleted = false;
  try {
    deleted = await deps.repos.executions.deleteQueued({ executionId: execution.id });
  } catch (err) {
    log.error({ err, reason }, 'refused start could not be deleted: it will run');
  }
  deps.metrics.startRollbacksTotal.inc({ reason, result: deleted ? 'deleted' : 'kept' });
  if (deleted && reason === 'dependency') {
    // Best effort, not awaited (the answer must not wait for Redis): an admission that reached
    // Redis after all (a timed-out reply) is undone, in order on the same connection.
    void deps.admission.withdraw({ workspaceId: execution.workspaceId, executionId: execution.id }).catch((err: unknown) => {
      log.debug({ err }, 'withdrawing the refused admission failed');
    });
  }
  return deleted;
}

/** A stored completed run as the result a node's templates read. */
function presetFromRun(run: NodeRunRow, fallbackAt: Date): NodeResult {
  return {
    status: 'completed',
    output: run.output,
    error: null,
    usage: run.usage,
    cost: run.cost,
    pricing: run.pricing ?? null,
    pricedAs: run.pricedAs ?? null,
    attempts: run.attempts,
    input: run.input,
    provider: run.provider,
    model: run.model,
    workerId: run.workerId,
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: (run.finishedAt ?? fallbackAt).toISOString(),
    runtimeMs: run.runtimeMs,
  };
}
