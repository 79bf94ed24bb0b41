/**
 * The node jobs this worker is running, by execution, so that a cancel from the api aborts
 * their provider and HTTP calls through their AbortSignal.
 */
export class RunningJobs {
  private readonly byExecution = new Map<string, Set<AbortController>>();

  register(executionId: string, controller: AbortController): () => void {
    let set = this.byExecution.get(executionId);
    if (!set) {
      set = new Set();
      this.byExecution.set(executionId, set);
    }
    set.add(controller);
    return () => {
      const s = this.byExecution.get(executionId);
      s?.delete(controller);
      if (s?.size === 0) this.byExecution.delete(executionId);
    };
  }

  /** Aborts every running job of the execution; answers how many there were. */
  abort(executionId: string, reason: unknown): number {
    const set = this.byExecution.get(executionId);
    if (!set) return 0;
    for (const controller of set) controller.abort(reason);
    return set.size;
  }
}
