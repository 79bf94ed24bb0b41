import type { Unsubscribe } from './event-bus.js';

/**
 * Wakes the long-polled task claims (`POST /v1/tasks/claim`) of a workspace when a task of one of
 * their handlers may have become claimable: queued, put back after a retryable failure or a
 * lapsed lease, or released. A notification is a hint, never the truth (Postgres is): a claim
 * woken for nothing claims nothing and waits again, and one whose notification was lost still
 * finds the task on its slow safety-net poll (WEFT_TASK_CLAIM_POLL_MS).
 */
export interface TaskWakeups {
  /** Tells every process's waiting claims of the workspace that serve `handler`. */
  notify(input: { workspaceId: string; handler: string }): Promise<void>;
  /**
   * Calls `onWake` for each notification of the workspace naming one of `handlers`, from the
   * moment the returned promise resolves (the subscription is in place) until unsubscribed.
   */
  listen(input: { workspaceId: string; handlers: readonly string[] }, onWake: () => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}

/** The listeners of one process, by workspace: what both adapters deliver a notification to. */
export class TaskWakeupListeners {
  private readonly byWorkspace = new Map<string, Set<{ handlers: ReadonlySet<string>; onWake: () => void }>>();

  /** Adds a listener; answers whether it is the workspace's first (the adapter subscribes then). */
  add(workspaceId: string, listener: { handlers: ReadonlySet<string>; onWake: () => void }): boolean {
    let set = this.byWorkspace.get(workspaceId);
    const first = set === undefined;
    if (!set) {
      set = new Set();
      this.byWorkspace.set(workspaceId, set);
    }
    set.add(listener);
    return first;
  }

  /** Removes a listener; answers whether it was the workspace's last (the adapter unsubscribes then). */
  remove(workspaceId: string, listener: { handlers: ReadonlySet<string>; onWake: () => void }): boolean {
    const set = this.byWorkspace.get(workspaceId);
    if (!set?.delete(listener)) return false;
    if (set.size > 0) return false;
    this.byWorkspace.delete(workspaceId);
    return true;
  }

  deliver(workspaceId: string, handler: string): void {
    for (const listener of this.byWorkspace.get(workspaceId) ?? []) if (listener.handlers.has(handler)) listener.onWake();
  }

  clear(): void {
    this.byWorkspace.clear();
  }
}
