/**
 * Redis lost an execution's hot state (no AOF, a failover, a flush): Postgres still says it is
 * running. Its hot state is rebuilt from the results it kept (node_runs) by the engine's own
 * transitions (engine/rebuild.ts), written only if still absent, and the nodes ready again are
 * enqueued unless a job for them is still live. Nodes whose results never reached Postgres run
 * again; a map without a result runs its items again.
 */
import type { ExecutionRow, NodeRunRow, Repos } from '../ports/database.js';
import { commitIntent, outcomeOf, rebuildExecution, type CommitIntent } from '../engine/index.js';
import { TERMINAL_EXECUTION_STATUSES, type NodeResult } from '../model/index.js';
import { conditionTargets, switchTargets, topologicalOrder } from '../flow/index.js';
import { jobExtras, nodeJobId, type NodeJobData } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import { nodeQueueFor, type EventBus, type ExecutionAdmission, type FlushLog, type JobQueue, type StateStore } from '../ports/index.js';
import { resolveNode, type CompiledFlow, type FlowCache } from './flow-cache.js';
import { childJobs } from './commit.js';
import { hotGraphOf } from './execution-job.js';

export interface RestoreDeps {
  repos: Pick<Repos, 'executions' | 'nodeRuns'>;
  state: StateStore;
  flushLog: FlushLog;
  queue: JobQueue;
  events: EventBus;
  admission: ExecutionAdmission;
  flows: FlowCache;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
}

function resultOf(run: NodeRunRow, now: Date): NodeResult {
  const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
  return {
    status: run.status === 'completed' || run.status === 'failed' || run.status === 'skipped' || run.status === 'cancelled' ? run.status : 'failed',
    output: run.output ?? null, error: run.error, usage: run.usage, cost: run.cost, pricing: run.pricing ?? null, pricedAs: run.pricedAs ?? null, attempts: run.attempts, input: run.input ?? null,
    provider: run.provider, model: run.model, workerId: run.workerId, startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt ?? run.startedAt ?? now) ?? now.toISOString(), runtimeMs: run.runtimeMs,
    ...(run.logs ? { logs: run.logs } : {}),
  };
}

/** The edges a recorded result took and whether it ended the execution, as its commit decided. */
export function commitOf(flow: CompiledFlow, nodeId: string, result: NodeResult): CommitIntent {
  const node = flow.nodes.get(nodeId);
  if (!node) return { takenChildren: [], failExecution: result.status === 'failed', soft: false };
  // The branch a completed condition or switch chose follows from its recorded output.
  const chosen = result.status !== 'completed' ? undefined
    : node.type === 'condition' ? conditionTargets(flow.outEdges.get(nodeId) ?? [], result.output === true)
      : node.type === 'switch' ? switchTargets(flow.outEdges.get(nodeId) ?? [], result.output) : undefined;
  return commitIntent({
    node, outcome: outcomeOf(result.status), failure: result.error,
    children: flow.graph.children.get(nodeId) ?? [], chosen, mapItem: false,
  });
}

/**
 * The spell each of these wait nodes was in when the state was lost: the time of its last
 * node.waiting event, unless a later event ended that wait. Where the history survived
 * (embedded mode's archive), the wait carries on with its deadline and token; where it did not
 * (Redis lost the stream with the state), it starts afresh.
 */
async function waitSpells(deps: RestoreDeps, executionId: string, nodeIds: readonly string[]): Promise<Map<string, string>> {
  const spells = new Map<string, string>();
  if (nodeIds.length === 0) return spells;
  const wanted = new Set(nodeIds);
  for (const event of await deps.events.replay(executionId)) {
    if (event.nodeId === undefined || !wanted.has(event.nodeId)) continue;
    if (event.type === 'node.waiting') spells.set(event.nodeId, event.at);
    else if (WAIT_ENDS.has(event.type)) spells.delete(event.nodeId);
  }
  return spells;
}

const WAIT_ENDS: ReadonlySet<string> = new Set(['node.completed', 'node.failed', 'node.skipped', 'node.cancelled']);

/** Rebuilds and writes one execution's hot state; answers whether this call wrote it. */
async function restoreOne(deps: RestoreDeps, row: ExecutionRow): Promise<boolean> {
  const now = deps.clock();
  const flow = await deps.flows.get(row.flowId, row.flowVersion);
  const graph = hotGraphOf(flow, row);
  const inGraph = new Set(graph.nodes.map((n) => n.id));
  const runs = await deps.repos.nodeRuns.listByExecution(row.id);
  const results = new Map(runs.filter((run) => inGraph.has(run.nodeId)).map((run) => [run.nodeId, resultOf(run, now)]));
  const state = rebuildExecution({
    init: {
      executionId: row.id, workspaceId: row.workspaceId, flowId: row.flowId, flowVersion: row.flowVersion, input: row.input,
      ...graph, at: (row.startedAt ?? now).toISOString(),
    },
    order: row.singleNodeId === null ? topologicalOrder(flow.record) : [row.singleNodeId],
    results,
    commitOf: (nodeId, result) => commitOf(flow, nodeId, result),
  });
  if (!(await deps.state.restoreExecution(state))) return false;
  // Redis lost the in-flight set with the state, perhaps: counted again until its end is recorded.
  if (!TERMINAL_EXECUTION_STATUSES.has(state.status)) await deps.admission.readmit({ workspaceId: row.workspaceId, executionId: row.id });

  // A job still waiting, delayed or running for a ready node will run it: no second one.
  const ready = [...state.statuses].filter(([, entry]) => entry.status === 'queued').map(([id]) => id);
  const live = await Promise.all(ready.map((id) => {
    const type = resolveNode(flow, id)?.node.type;
    return type ? deps.queue.get(nodeQueueFor(type), nodeJobId(row.id, id)) : Promise.resolve(null);
  }));
  const missing = ready.filter((_id, i) => live[i] === null);
  const template: NodeJobData = {
    executionId: row.id, workspaceId: row.workspaceId, flowId: row.flowId, flowVersion: row.flowVersion, nodeId: '',
    ...jobExtras(row),
  };
  // Fresh ids: the nodes' earlier jobs may still be retained by the queue.
  const suffix = `rec${now.getTime().toString(36)}`;
  const spells = await waitSpells(deps, row.id, missing.filter((id) => flow.nodes.get(id)?.type === 'wait'));
  const jobs = childJobs(template, missing, flow).map((job) => {
    const data = job.data;
    const waitingSince = spells.get(data.nodeId);
    return { ...job, jobId: `${job.jobId}.${suffix}`, data: waitingSince ? { ...data, waitingSince } : data };
  });
  if (jobs.length > 0) await deps.queue.addBulk(jobs);
  if (TERMINAL_EXECUTION_STATUSES.has(state.status)) await deps.flushLog.append([{ kind: 'execution', executionId: row.id }]);
  await deps.events.publish({
    type: 'execution.resumed', executionId: row.id, flowId: row.flowId, workspaceId: row.workspaceId, at: now.toISOString(),
    data: { recovered: true, kept: results.size, ready },
  });
  deps.logger.warn({ executionId: row.id, kept: results.size, ready, enqueued: missing, waitsCarriedOn: [...spells.keys()], status: state.status }, 'hot state lost: rebuilt from Postgres');
  return true;
}

/**
 * One pass: executions running or waiting in Postgres, untouched for `minAgeMs`, whose hot state
 * is gone, are rebuilt. Answers how many this pass restored.
 */
export async function restoreLostHotState(deps: RestoreDeps, input: { minAgeMs: number; limit: number }): Promise<number> {
  const before = new Date(deps.clock().getTime() - input.minAgeMs);
  const live = await deps.repos.executions.listLiveBefore({ before, limit: input.limit });
  if (live.length === 0) return 0;
  const existing = await deps.state.existingExecutions(live.map((row) => row.id));
  let restored = 0;
  for (const row of live) {
    if (existing.has(row.id)) continue;
    if (await restoreOne(deps, row)) restored += 1;
  }
  if (restored > 0) deps.metrics.recoveredTotal.inc({ kind: 'hot_state' }, restored);
  return restored;
}
