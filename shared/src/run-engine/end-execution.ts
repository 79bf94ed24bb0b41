/**
 * Ending a live execution early: hot state first (no node starts after it), then every worker
 * aborts the execution's running calls, its queued node jobs are removed, and the flusher
 * records the end. Used by cancel and by the execution timeout.
 */
import type { NodeError } from '../model/index.js';
import { parseMapItemNodeId } from '../flow/index.js';
import { nodeJobIdOf } from '../jobs/index.js';
import { QUEUES, type CancelExecutionResult, type ControlBus, type FlushLog, type JobQueue, type StateStore } from '../ports/index.js';

export async function endExecution(deps: { state: StateStore; flushLog: FlushLog; queue: JobQueue; control?: ControlBus | undefined }, input: {
  executionId: string;
  at: Date;
  endAs?: { status: 'failed'; error: NodeError };
}): Promise<CancelExecutionResult> {
  const result = await deps.state.cancelExecution({ executionId: input.executionId, at: input.at.toISOString(), ...(input.endAs ? { endAs: input.endAs } : {}) });
  if (result.kind !== 'cancelled') return result;
  await deps.control?.publish({ type: 'cancel', executionId: input.executionId });
  await Promise.all(result.queued.map((nodeId) => {
    const item = parseMapItemNodeId(nodeId);
    const mapRound = item ? (result.mapRounds[item.mapId] ?? 0) : 0;
    return deps.queue.remove(QUEUES.nodes, nodeJobIdOf({ executionId: input.executionId, nodeId, mapRound }));
  }));
  await deps.flushLog.append([{ kind: 'execution', executionId: input.executionId }]);
  return result;
}
