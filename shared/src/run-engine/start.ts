/**
 * Starting executions: the row is written first (idempotently), then execution.queued is
 * published and the execution job enqueued. A flow run and a single-node run differ only in
 * the row; the enqueue is shared.
 */
import { WeftError, toWeftError } from '../errors/index.js';
import { buildFlowGraph, nodeReads } from '../flow/index.js';
import { executionJob } from '../jobs/index.js';
import { assertBudgetPriced } from './budget-pricing.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { NodeResult } from '../model/index.js';
import type { ExecutionRow, NodeRunRow, Repos } from '../ports/database.js';
import type { EventBus, JobQueue } from '../ports/index.js';

export interface StartDeps {
  repos: Pick<Repos, 'executions' | 'flows' | 'nodeRuns' | 'pricing' | 'workspaces'>;
  queue: JobQueue;
  events: EventBus;
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
}

/** Writes the row of a flow run (NOT_FOUND for an unknown flow or version). */
export async function createExecution(deps: StartDeps, input: CreateExecutionInput): Promise<CreatedExecution> {
  const { workspaceId, version } = input;
  const flow = await deps.repos.flows.get({ workspaceId, flowId: input.flowId, ...(version ? { version } : {}) });
  if (!flow) throw new WeftError('NOT_FOUND', version ? `flow ${input.flowId} version ${version} not found` : `flow ${input.flowId} not found`);
  if (input.maxCostUsd) await assertBudgetPriced(deps, { workspaceId, flow });
  return deps.repos.executions.create({
    workspaceId,
    flowId: flow.id,
    flowVersion: flow.version,
    input: input.input ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    maxCostUsd: input.maxCostUsd ?? null,
  });
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
 * Publishes execution.queued for a new row and enqueues its job. Also for an idempotent replay
 * of a still-queued execution: that heals a crash between the insert and the enqueue (the job
 * id dedupes). An unreachable queue answers DEPENDENCY_UNAVAILABLE: the caller retries with the
 * same Idempotency-Key.
 */
export async function enqueueExecution(deps: StartDeps, { execution, created }: CreatedExecution): Promise<void> {
  const { workspaceId, flowId } = execution;
  const log = deps.logger.child({ executionId: execution.id });
  try {
    if (created) {
      await deps.events.publish({
        type: 'execution.queued', executionId: execution.id, flowId, workspaceId,
        at: execution.createdAt.toISOString(),
        data: { flowVersion: execution.flowVersion, ...(execution.singleNodeId === null ? {} : { singleNodeId: execution.singleNodeId }) },
      });
    }
    if (execution.status === 'queued') await deps.queue.add(executionJob({ executionId: execution.id, workspaceId }));
  } catch (err) {
    log.error({ err }, 'execution stored but not enqueued');
    throw new WeftError('DEPENDENCY_UNAVAILABLE', 'the queue is unavailable; retry with the same Idempotency-Key', { cause: toWeftError(err), retryAfterMs: 1000 });
  }
  if (created) {
    deps.metrics.executionsTotal.inc({ status: 'queued' });
    log.info({ flowId, flowVersion: execution.flowVersion, singleNodeId: execution.singleNodeId }, 'execution queued');
  }
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
