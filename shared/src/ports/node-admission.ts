/**
 * Per-workspace fairness (issue 11 §4): a workspace's node jobs in flight across the whole fleet
 * are capped (WEFT_WORKSPACE_MAX_ACTIVE_NODES). A node job takes a slot before it runs and gives
 * it back when it ends; a job over the cap is deferred (parked, its place in line kept) and
 * promoted back to its queue, in line order, when a slot frees.
 *
 * Slots are leases, never counters: a holder is a node job id, so a redelivered job finds its own
 * slot again, and a slot of a crashed worker lapses after `leaseMs` unless renewed. Parked entries
 * of jobs that vanished (a cancel removed them) lapse too.
 */
export type NodeAdmitResult =
  | { admitted: true; active: number }
  /** Parked: `active` slots are taken; the job is `position` (0-based) in the workspace's line. */
  | { admitted: false; active: number; position: number };

export interface NodeAdmission {
  /**
   * Takes one of the workspace's `max` slots for `holder`, or parks it: a job that finds a free
   * slot runs only when no parked job is ahead of it in line (`rank`: lower goes first; kept from
   * the first deferral while the job stays parked). A holder that has its slot keeps it.
   */
  acquire(input: { workspaceId: string; holder: string; max: number; rank: number; leaseMs: number; parkTtlMs: number }): Promise<NodeAdmitResult>;
  /** Gives the holder's slot back; answers the parked holders first in line for the slots now free (to promote). */
  release(input: { workspaceId: string; holder: string; max: number }): Promise<string[]>;
  /** Extends the leases of running holders (a worker's, every third of the lease). */
  renew(holders: ReadonlyArray<{ workspaceId: string; holder: string }>, leaseMs: number): Promise<void>;
  /** Slots the workspace holds now (unexpired). */
  active(workspaceId: string): Promise<number>;
}
