import type { EventDraft } from '../../model/index.js';
import type { AdmitResult, ExecutionAdmission } from '../../ports/execution-admission.js';
import type { EventBus } from '../../ports/event-bus.js';

/** The in-flight cap of one process (embedded mode): a set of ids per workspace. */
export class MemoryExecutionAdmission implements ExecutionAdmission {
  private readonly sets = new Map<string, Set<string>>();

  constructor(private readonly options: { events: EventBus }) {}

  async admit(input: { workspaceId: string; executionId: string; max: number; event: EventDraft | null }): Promise<AdmitResult> {
    const set = this.set(input.workspaceId);
    if (!set.has(input.executionId)) {
      if (input.max > 0 && set.size >= input.max) return { admitted: false, inFlight: set.size };
      set.add(input.executionId);
    }
    if (input.event) await this.options.events.publish(input.event);
    return { admitted: true };
  }

  readmit(input: { workspaceId: string; executionId: string }): Promise<void> {
    this.set(input.workspaceId).add(input.executionId);
    return Promise.resolve();
  }

  release(input: { workspaceId: string; executionId: string }): Promise<void> {
    const set = this.sets.get(input.workspaceId);
    set?.delete(input.executionId);
    if (set?.size === 0) this.sets.delete(input.workspaceId);
    return Promise.resolve();
  }

  /** Memory never fails after admitting: nothing of the event to take back but the count. */
  withdraw(input: { workspaceId: string; executionId: string }): Promise<void> {
    return this.release(input);
  }

  listInFlight(): Promise<Array<{ workspaceId: string; executionIds: string[] }>> {
    return Promise.resolve([...this.sets].map(([workspaceId, set]) => ({ workspaceId, executionIds: [...set] })));
  }

  inFlight(workspaceId: string): Promise<number> {
    return Promise.resolve(this.sets.get(workspaceId)?.size ?? 0);
  }

  private set(workspaceId: string): Set<string> {
    let set = this.sets.get(workspaceId);
    if (!set) {
      set = new Set();
      this.sets.set(workspaceId, set);
    }
    return set;
  }
}
