/**
 * Steering an execution from the api: re-running a node that failed for good (dead-letter
 * replay). Hot state is re-opened atomically, the record shows the execution running again,
 * and the nodes ready now are enqueued under fresh job ids (their old ids may still be
 * retained by the queue).
 */
import type { Repos } from '@weft/db/repos';
import { WeftError } from '@weft/shared/errors';
import type { NodeJobData } from '@weft/shared/jobs';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { JobQueue, StateStore } from '@weft/shared/ports';
import { FlowCache } from '../flow-cache.js';
import { childJobs } from '../processors/node.processor.js';

export interface ControlDeps {
  repos: Pick<Repos, 'executions' | 'flows'>;
  state: StateStore;
  queue: JobQueue;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
}

export type ReplayNode = (input: { workspaceId: string; executionId: string; nodeId: string }) => Promise<void>;

export function createReplayNode(deps: ControlDeps): ReplayNode {
  const flows = new FlowCache(deps.repos.flows);
  return async ({ workspaceId, executionId, nodeId }) => {
    const log = deps.logger.child({ executionId, nodeId });
    const row = await deps.repos.executions.get({ workspaceId, executionId });
    if (!row) throw new WeftError('NOT_FOUND', `execution ${executionId} not found`);
    const hot = await deps.state.getExecution(executionId);
    if (!hot) {
      throw new WeftError('CONFLICT', `execution ${executionId} is no longer in hot state (its TTL ran out): it cannot be replayed`);
    }
    const flow = await flows.get(hot.flowId, hot.flowVersion);
    const node = flow.nodes.get(nodeId);
    if (!node) throw new WeftError('NOT_FOUND', `node ${nodeId} is not in flow ${hot.flowId} v${hot.flowVersion}`);
    if (node.onError === 'continue') {
      throw new WeftError('CONFLICT', `node '${nodeId}' failed with onError "continue": its downstream already ran without it`);
    }
    const others = Object.entries(hot.nodes)
      .filter(([id, n]) => id !== nodeId && n.result?.status === 'failed' && flow.nodes.get(id)?.onError !== 'continue')
      .map(([id]) => id);
    if (others.length > 0) {
      throw new WeftError('CONFLICT', `other nodes failed the execution too (${others.join(', ')}): replay them first or retry the execution`);
    }
    const reopened = await deps.state.reopenNodes({ executionId, nodeIds: [nodeId], at: deps.clock().toISOString() });
    if (reopened.kind === 'missing') throw new WeftError('CONFLICT', `execution ${executionId} is no longer in hot state`);
    if (reopened.kind === 'not-failed') throw new WeftError('CONFLICT', `node '${reopened.nodeId}' has not failed`);
    await deps.repos.executions.reopen({ executionId });
    const template: NodeJobData = {
      executionId, workspaceId, flowId: hot.flowId, flowVersion: hot.flowVersion, nodeId: '',
      ...(row.maxCostUsd === null ? {} : { maxCostUsd: row.maxCostUsd }),
    };
    // Fresh ids: the node's earlier job id is still retained by the queue and would be dropped.
    const suffix = `r${Date.now().toString(36)}`;
    const jobs = childJobs(template, reopened.ready, flow.nodes).map((job) => ({ ...job, jobId: `${job.jobId}.${suffix}` }));
    if (jobs.length > 0) await deps.queue.addBulk(jobs);
    deps.metrics.executionsTotal.inc({ status: 'running' });
    log.info({ ready: reopened.ready }, 'failed node replayed: execution running again');
  };
}
