/**
 * After a node has a result: commit it atomically, then (in parallel) append it to the flush
 * log, enqueue the children that became ready and, for a final failure, park a dead letter.
 * Shared by the node processor and the resume processor (wait nodes).
 */
import type { NodeResult } from '@weft/shared/engine';
import { failureEndsExecution, retryPolicyFor } from '@weft/shared/engine';
import type { WeftError } from '@weft/shared/errors';
import type { FlowNode } from '@weft/shared/flow';
import { nodeJob, type DeadLetterJobData, type NodeJobData } from '@weft/shared/jobs';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import { QUEUES, type EnqueueRequest, type FlushEntry, type JobQueue, type StateStore } from '@weft/shared/ports';
import type { CompiledFlow } from '../flow-cache.js';

export function childJobs(data: NodeJobData, childIds: readonly string[], nodes: Map<string, FlowNode>): EnqueueRequest[] {
  const jobs: EnqueueRequest[] = [];
  for (const id of childIds) {
    const child = nodes.get(id);
    if (!child) continue;
    const retry = retryPolicyFor(child);
    jobs.push(nodeJob({ ...data, nodeId: id }, { attempts: retry.attempts, backoff: retry.backoff }));
  }
  return jobs;
}

export interface CommitDeps {
  state: StateStore;
  queue: JobQueue;
  metrics: WeftMetrics;
}

export async function commitAndContinue(deps: CommitDeps, input: {
  data: NodeJobData;
  node: FlowNode;
  flow: CompiledFlow;
  result: NodeResult;
  failure: WeftError | null;
  /** Children whose edge is taken when the node continues. */
  takenChildren: string[];
  attempt: number;
  jobId: string;
  runtimeMs: number;
  log: Logger;
}): Promise<void> {
  const { data, node, flow, result, failure, log } = input;
  // A passed budget ends the execution even for a node that may otherwise fail softly.
  const continues = !failure || (!failureEndsExecution(node) && failure.code !== 'BUDGET_EXCEEDED');
  const commit = await deps.state.commitNode({
    executionId: data.executionId,
    nodeId: node.id,
    result,
    takenChildren: continues ? input.takenChildren : [],
    failExecution: !continues,
    at: result.finishedAt,
  });

  if (!commit.committed) {
    // Another path committed this node first (a resume racing its timeout, a redelivery):
    // its record stands; only re-announce the ready children.
    if (commit.ready.length > 0) await deps.queue.addBulk(childJobs(data, commit.ready, flow.nodes));
    log.debug('node already committed: nothing recorded');
    return;
  }
  const flush: FlushEntry[] = [
    { kind: 'node', executionId: data.executionId, nodeId: node.id, result, workspaceId: data.workspaceId, flowId: data.flowId, nodeType: node.type },
  ];
  if (commit.finished) flush.push({ kind: 'execution', executionId: data.executionId });
  const work: Array<Promise<unknown>> = [deps.state.appendFlush(flush)];
  if (commit.ready.length > 0) work.push(deps.queue.addBulk(childJobs(data, commit.ready, flow.nodes)));
  // A cancelled node did not fail for good: it is not a dead letter.
  if (failure && failure.code !== 'NODE_CANCELLED') {
    const dead: DeadLetterJobData = {
      executionId: data.executionId,
      workspaceId: data.workspaceId,
      nodeId: node.id,
      error: { code: failure.code.toLowerCase(), category: failure.category, message: failure.message },
      attempts: input.attempt,
      failedAt: result.finishedAt,
    };
    work.push(deps.queue.add({ queue: QUEUES.dead, name: 'dead-letter', data: dead, jobId: `${input.jobId}.dead` }));
  }
  await Promise.all(work);

  deps.metrics.nodesTotal.inc({ node_type: node.type, status: result.status });
  deps.metrics.nodeDuration.observe({ node_type: node.type, status: result.status }, input.runtimeMs / 1000);
  deps.metrics.nodeAttemptsTotal.inc({ node_type: node.type, result: failure ? 'failed' : 'ok' });
  if (failure) {
    deps.metrics.errorsTotal.inc({ category: failure.category, code: failure.code });
    log.warn({ code: failure.code, category: failure.category, err: failure.message, runtimeMs: input.runtimeMs }, 'node failed');
  } else {
    log.info({ runtimeMs: input.runtimeMs, ready: commit.ready }, 'node completed');
  }
  if (commit.finished) {
    deps.metrics.executionsTotal.inc({ status: commit.executionStatus });
    log.info({ status: commit.executionStatus }, 'execution finished');
  }
}
