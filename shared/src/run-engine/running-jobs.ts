/**
 * The node jobs this worker is running, by execution, so that a cancel from the api (or a map's
 * timeout) aborts their provider and HTTP calls through their AbortSignal.
 */
/** What a running job registers: an AbortController, or a node's cancel (node-signal.ts). */
export interface Abortable {
  abort(reason?: unknown): void;
}

export class RunningJobs {
  private readonly byExecution = new Map<string, Map<Abortable, string | undefined>>();

  register(executionId: string, controller: Abortable, nodeId?: string): () => void {
    let jobs = this.byExecution.get(executionId);
    if (!jobs) {
      jobs = new Map();
      this.byExecution.set(executionId, jobs);
    }
    jobs.set(controller, nodeId);
    return () => {
      const j = this.byExecution.get(executionId);
      j?.delete(controller);
      if (j?.size === 0) this.byExecution.delete(executionId);
    };
  }

  /** Aborts the execution's running jobs (those of `nodeIds` when given); answers how many. */
  abort(executionId: string, reason: unknown, nodeIds?: readonly string[]): number {
    const jobs = this.byExecution.get(executionId);
    if (!jobs) return 0;
    const only = nodeIds ? new Set(nodeIds) : null;
    let aborted = 0;
    for (const [controller, nodeId] of jobs) {
      if (only && (nodeId === undefined || !only.has(nodeId))) continue;
      controller.abort(reason);
      aborted += 1;
    }
    return aborted;
  }
}
