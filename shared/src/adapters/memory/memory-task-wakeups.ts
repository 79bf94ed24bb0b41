/** TaskWakeups within one process (embedded mode): a notification reaches this process's claims. */
import type { Unsubscribe } from '../../ports/event-bus.js';
import { TaskWakeupListeners, type TaskWakeups } from '../../ports/task-wakeups.js';

export class MemoryTaskWakeups implements TaskWakeups {
  private readonly listeners = new TaskWakeupListeners();

  notify(input: { workspaceId: string; handler: string }): Promise<void> {
    this.listeners.deliver(input.workspaceId, input.handler);
    return Promise.resolve();
  }

  listen(input: { workspaceId: string; handlers: readonly string[] }, onWake: () => void): Promise<Unsubscribe> {
    const listener = { handlers: new Set(input.handlers), onWake };
    this.listeners.add(input.workspaceId, listener);
    return Promise.resolve(() => {
      this.listeners.remove(input.workspaceId, listener);
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }
}
