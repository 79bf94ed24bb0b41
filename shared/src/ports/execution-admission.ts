import type { EventDraft } from '../model/index.js';

/** What `admit` answers: admitted, or refused because the workspace is at its cap. */
export type AdmitResult = { admitted: true } | { admitted: false; inFlight: number };

/**
 * The per-workspace cap on executions in flight (architecture.md, "Quotas"). In flight means
 * admitted and not yet recorded as ended. The count is a set of execution ids, never a
 * counter: admitting or releasing the same execution twice counts once, so redelivered jobs,
 * a flush written twice and recovery cannot skew it.
 */
export interface ExecutionAdmission {
  /**
   * Admits the execution unless its workspace holds `max` others in flight (`max` 0: no cap);
   * an execution already admitted is admitted again. When admitted, `event` (execution.queued)
   * is published in the same step, so the check costs the start path no extra round trip.
   */
  admit(input: { workspaceId: string; executionId: string; max: number; event: EventDraft | null }): Promise<AdmitResult>;
  /** Counts an execution in flight again without a check: a retry or replay re-opened it, or recovery rebuilt it. */
  readmit(input: { workspaceId: string; executionId: string }): Promise<void>;
  /** The execution ended (its end is recorded) or never started: it no longer counts. */
  release(input: { workspaceId: string; executionId: string }): Promise<void>;
  /**
   * Undoes an admission whose start was refused afterwards (its row deleted): not counted, and
   * its execution.queued no longer kept. For an admission whose reply was lost (a timeout), the
   * command follows the admission on the same connection, so Redis applies both in order.
   */
  withdraw(input: { workspaceId: string; executionId: string }): Promise<void>;
  /** Every workspace's in-flight ids, for the recovery sweep's reconciliation. */
  listInFlight(): Promise<Array<{ workspaceId: string; executionIds: string[] }>>;
  /** How many executions of the workspace are in flight. */
  inFlight(workspaceId: string): Promise<number>;
}
