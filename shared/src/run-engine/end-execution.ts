/**
 * Ending a live execution early: hot state first (no node starts after it), then every worker
 * aborts the execution's running calls, its queued node jobs are removed, and the flusher
 * records the end. Used by cancel and by the execution timeout.
 */
import type { NodeError } from '../model/index.js';
import { parseMapItemNodeId } from '../flow/index.js';
import { nodeJobIdOf } from '../jobs/index.js';
import { ALL_QUEUES, NODE_QUEUES, QUEUES, type CancelExecutionResult, type ControlBus, type FlushLog, type JobQueue, type StateStore } from '../ports/index.js';

/** Node queues, and `weft-nodes` for jobs enqueued before node jobs moved to their type's queue. */
const NODE_JOB_QUEUES = ALL_QUEUES.filter((q) => q === QUEUES.nodes || (NODE_QUEUES as readonly string[]).includes(q));

export async function endExecution(deps: { state: StateStore; flushLog: FlushLog; queue: JobQueue; control?: ControlBus | undefined }, input: {
  executionId: string;
  at: Date;
  endAs?: { status: 'failed'; error: NodeError };
}): Promise<CancelExecutionResult> {
  const result = await deps.state.cancelExecution({ executionId: input.executionId, at: input.at.toISOString(), ...(input.endAs ? { endAs: input.endAs } : {}) });
  if (result.kind !== 'cancelled') return result;
  await deps.control?.publish({ type: 'cancel', executionId: input.executionId });
  // The hot state knows a queued node's id, not its type: its job is looked for in every node
  // queue (a cancel is rare; a job missed here starts nothing, the execution has ended).
  await Promise.all(result.queued.flatMap((nodeId) => {
    const item = parseMapItemNodeId(nodeId);
    const mapRound = item ? (result.mapRounds[item.mapId] ?? 0) : 0;
    const jobId = nodeJobIdOf({ executionId: input.executionId, nodeId, mapRound });
    return NODE_JOB_QUEUES.map((queue) => deps.queue.remove(queue, jobId));
  }));
  await deps.flushLog.append([{ kind: 'execution', executionId: input.executionId }]);
  return result;
}
