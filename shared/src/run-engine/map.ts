/**
 * A started map node: its list is evaluated (a `{{ref}}` or JSONata over `{input, nodes}`), then
 * hot state expands it (StateStore.startMap) and the first items' nodes are enqueued as
 * ordinary node jobs, so items run across the fleet. Each later commit of an item's node
 * releases the next item; the commit of the last ends the map (commit-and-continue.ts).
 */
import { commitIntent, failsSoftly } from '../engine/index.js';
import { type NodeResult } from '../model/index.js';
import { WeftError, toNodeError, toWeftError } from '../errors/index.js';
import { mapItemsSource, MAP_DEFAULT_CONCURRENCY, MAP_MAX_ITEMS, type MapNode } from '../flow/index.js';
import { mapTimeoutJobId, type NodeJobData, type ResumeJobData } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import { QUEUES, type ControlBus, type EnqueueRequest, type FlushEntry, type FlushLog, type JobQueue, type StateStore } from '../ports/index.js';
import { renderTemplateValue } from '../templates/index.js';
import type { ClaimCheck } from './claim-check.js';
import type { CompiledFlow, CompiledMap } from './flow-cache.js';
import { expressionData, type ExpressionEvaluator } from '../expressions/index.js';
import { childJobs, commitAndContinue, recordSettledMaps, settledMapEntries } from './commit.js';
import { liveStatusEntries } from './live-status.js';

export interface MapDeps {
  state: StateStore;
  flushLog: FlushLog;
  queue: JobQueue;
  metrics: WeftMetrics;
  clock: () => Date;
  expressions: ExpressionEvaluator;
  /** The map's items may come from an offloaded output: its references are resolved first. */
  claimCheck: Pick<ClaimCheck, 'resolveResults'>;
}

/**
 * The map's list; throws MAP_ITEMS_INVALID when it is not one, TEMPLATE_MISSING_REF,
 * TRANSFORM_FAILED or EXPRESSION_LIMIT_EXCEEDED on the way.
 */
export async function evaluateMapItems(node: MapNode, ctx: { input: unknown; results: Record<string, NodeResult> }, expressions: ExpressionEvaluator, log?: Logger): Promise<unknown[]> {
  const source = mapItemsSource(node);
  let value: unknown;
  if (source.kind === 'template') {
    value = renderTemplateValue(source.template, { input: ctx.input, results: ctx.results });
  } else {
    value = await expressions.evaluate({ expression: source.expression, data: expressionData(ctx), what: `items of map '${node.id}'`, log });
  }
  if (source.kind === 'jsonata') {
    // JSONata sequences: no match is undefined and a lone match the value itself, both lists here.
    if (value === undefined) return [];
    if (!Array.isArray(value)) value = [value];
  }
  if (!Array.isArray(value)) {
    throw new WeftError('MAP_ITEMS_INVALID', `items of map '${node.id}' must be a list, got ${value === null ? 'null' : typeof value}`);
  }
  if (value.length > MAP_MAX_ITEMS) {
    throw new WeftError('MAP_ITEMS_INVALID', `map '${node.id}' has ${value.length} items; at most ${MAP_MAX_ITEMS} are allowed`);
  }
  // A copy: a JSONata sequence carries a `sequence` flag.
  return [...(value as unknown[])];
}

export async function runMap(deps: MapDeps, input: {
  data: NodeJobData;
  map: CompiledMap;
  flow: CompiledFlow;
  started: { input: unknown; results: Record<string, NodeResult> };
  startedAt: Date;
  attempt: number;
  jobId: string;
  workerId: string;
  log: Logger;
}): Promise<void> {
  const { data, map, flow, log } = input;
  const node = map.node;
  let items: unknown[];
  try {
    const results = await deps.claimCheck.resolveResults(data.workspaceId, input.started.results);
    items = await evaluateMapItems(node, { input: input.started.input, results }, deps.expressions, log);
  } catch (err) {
    const failure = toWeftError(err);
    const finishedAt = new Date();
    const result: NodeResult = {
      status: 'failed', output: null, error: toNodeError(failure),
      usage: null, cost: null, attempts: input.attempt, input: null, provider: null, model: null, workerId: input.workerId,
      startedAt: input.startedAt.toISOString(), finishedAt: finishedAt.toISOString(), runtimeMs: finishedAt.getTime() - input.startedAt.getTime(),
    };
    const intent = commitIntent({ node, outcome: 'failed', failure: result.error, children: flow.graph.children.get(node.id) ?? [], mapItem: false });
    await commitAndContinue(deps, { data, node, flow, result, failure, intent, log, attempt: input.attempt, jobId: input.jobId, runtimeMs: result.runtimeMs ?? 0 });
    return;
  }

  const outcome = await deps.state.startMap({
    executionId: data.executionId,
    nodeId: node.id,
    items,
    concurrency: node.concurrency ?? MAP_DEFAULT_CONCURRENCY,
    onItemError: node.onItemError ?? 'fail',
    // The map's own failure (an item failed it) ends the execution unless it fails softly.
    failExecution: !failsSoftly(node),
    output: map.output,
    nodes: map.hotNodes,
    at: input.startedAt.toISOString(),
  });
  if (outcome.kind !== 'started') {
    log.info({ outcome: outcome.kind }, 'map not expanded: its execution or the map itself is over');
    return;
  }
  const flush: FlushEntry[] = settledMapEntries(data, outcome.settledMaps);
  if (outcome.finished) flush.push({ kind: 'execution', executionId: data.executionId });
  else flush.push(...liveStatusEntries(data.executionId, outcome.events));
  const jobs: EnqueueRequest[] = childJobs(data, outcome.ready, flow, outcome.round);
  // timeoutMs bounds the whole map: a timer per round ends it if it is still running then.
  if (node.timeoutMs !== undefined && outcome.settledMaps.length === 0) {
    const { mapRound: _round, ...base } = data;
    jobs.push({
      queue: QUEUES.resume, name: 'resume', data: { ...base, kind: 'map-timeout', mapRound: outcome.round } satisfies ResumeJobData,
      jobId: mapTimeoutJobId(data.executionId, node.id, outcome.round), delayMs: Math.max(0, input.startedAt.getTime() + node.timeoutMs - Date.now()), attempts: 5,
    });
  }
  await Promise.all([deps.flushLog.append(flush), jobs.length > 0 ? deps.queue.addBulk(jobs) : Promise.resolve()]);
  if (!outcome.resumed) deps.metrics.mapItemsTotal.inc({ event: 'expanded' }, items.length);
  recordSettledMaps(deps.metrics, log, outcome.settledMaps);
  if (outcome.finished) deps.metrics.executionsTotal.inc({ status: outcome.executionStatus });
  log.info({
    items: items.length, concurrency: node.concurrency ?? MAP_DEFAULT_CONCURRENCY, round: outcome.round, reset: outcome.reset,
    resumed: outcome.resumed, ready: outcome.ready.length,
  }, outcome.resumed ? 'map job redelivered: queued item nodes re-announced' : 'map expanded');
}

/**
 * A map's timer: if the map still runs in the round the timer was set in, it ends failed
 * (node_timeout), its running item nodes are aborted across the fleet, and its failure flows on
 * as any node's would.
 */
export async function timeOutMap(deps: Omit<MapDeps, 'expressions' | 'claimCheck'> & { control?: ControlBus | undefined }, input: {
  data: ResumeJobData;
  flow: CompiledFlow;
  at: Date;
  log: Logger;
}): Promise<void> {
  const { data, flow, log } = input;
  const map = flow.maps.get(data.nodeId);
  if (!map) return;
  const error = toNodeError(new WeftError('NODE_TIMEOUT', `map '${map.node.id}' was still running after its timeoutMs (${map.node.timeoutMs ?? 0} ms)`));
  const ended = await deps.state.timeoutMap({ executionId: data.executionId, nodeId: map.node.id, round: data.mapRound ?? 0, at: input.at.toISOString(), error });
  if (ended.kind !== 'ended') {
    log.debug({ outcome: ended.kind }, 'map timer: the map is no longer running');
    return;
  }
  if (ended.running.length > 0) await deps.control?.publish({ type: 'cancel', executionId: data.executionId, nodeIds: ended.running });
  const flush: FlushEntry[] = settledMapEntries(data, ended.settledMaps);
  if (ended.finished) flush.push({ kind: 'execution', executionId: data.executionId });
  else flush.push(...liveStatusEntries(data.executionId, ended.events));
  const { mapRound: _round, kind: _kind, data: _data, ...base } = data;
  await Promise.all([
    deps.flushLog.append(flush),
    ended.ready.length > 0 ? deps.queue.addBulk(childJobs(base, ended.ready, flow)) : Promise.resolve(),
  ]);
  deps.metrics.errorsTotal.inc({ category: error.category, code: 'NODE_TIMEOUT' });
  recordSettledMaps(deps.metrics, log, ended.settledMaps);
  if (ended.finished) deps.metrics.executionsTotal.inc({ status: ended.executionStatus });
  log.warn({ aborted: ended.running.length, executionStatus: ended.executionStatus }, 'map timed out: running items aborted');
}
