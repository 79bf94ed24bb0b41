/**
 * Per-workspace fairness (issue 11 §4): a workspace's node jobs in flight across the fleet are
 * capped by WEFT_WORKSPACE_MAX_ACTIVE_NODES, so one tenant's burst cannot take every worker.
 *
 * A node job takes a slot of its workspace (NodeAdmission.acquire) before it starts its node and
 * gives it back when the job ends. The child eager dispatch continues with in the job uses the
 * job's slot; each child it runs beside that one takes a slot of its own (takeEager, under the
 * child's job id), or, over the cap, goes to its queue: eager dispatch never passes the cap. A
 * job over the cap is deferred: it goes back to delayed in its queue for DEFER_MS (no attempt
 * spent) and takes its place in the workspace's line (priority first, then first deferral). A
 * release promotes the jobs first in line back to their queues at once, so the line moves as
 * fast as slots free; the delay only brings back a job whose promotion was lost.
 *
 * Slots are leases on the job's id, renewed by the worker while the job runs: a redelivered job
 * finds its slot again, and a crashed worker's slots lapse after the lease (twice the queue's lock).
 */
import { WeftError } from '../errors/index.js';
import type { NodeJobData } from '../jobs/index.js';
import { NODE_JOB_PRIORITY } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { JobContext, JobQueue, NodeAdmission, QueueName } from '../ports/index.js';

/** How long a deferred job waits in delayed when no release promotes it first. */
export const DEFER_MS = 5000;
/** A parked entry whose job vanished (a cancel removed it) leaves the line after this. */
const PARK_TTL_MS = 30_000;
const DEFAULT_LEASE_MS = 60_000;

export interface NodeSlotsDeps {
  nodeAdmission?: NodeAdmission | undefined;
  workspaceMaxActiveNodes?: number | undefined;
  nodeSlotLeaseMs?: number | undefined;
  queue: JobQueue;
  metrics: WeftMetrics;
  logger: Logger;
}

/** A taken slot: give it back once the job has ended. */
export type ReleaseSlot = () => Promise<void>;

export class NodeSlots {
  /** holder → workspace: the slots this process holds, renewed on a timer. */
  private readonly held = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly leaseMs: number;

  constructor(private readonly deps: NodeSlotsDeps) {
    this.leaseMs = deps.nodeSlotLeaseMs ?? DEFAULT_LEASE_MS;
  }

  /**
   * Takes the job's slot, or throws NODE_DEFERRED (a dependency error: the queue re-delays the job
   * without spending an attempt). No cap configured: nothing to take.
   */
  async take(job: JobContext<NodeJobData>, log: Logger): Promise<ReleaseSlot> {
    const taken = await this.tryTake({ queue: job.queue, jobId: job.id, data: job.data }, log);
    if (taken.release) return taken.release;
    const { workspaceId } = job.data;
    throw new WeftError('NODE_DEFERRED', `workspace ${workspaceId} has ${taken.active} node jobs in flight (at most ${taken.max}): deferred`, { retryAfterMs: DEFER_MS });
  }

  /**
   * Takes a slot for a child a commit started beside the committing one (eager dispatch) under its
   * own job's identity; null over the cap: the child's job is then enqueued, and that job, parked
   * in line by this call, waits for a slot as any deferred job does.
   */
  async takeEager(child: { queue: QueueName; jobId: string; data: NodeJobData }, log: Logger): Promise<ReleaseSlot | null> {
    return (await this.tryTake(child, log)).release ?? null;
  }

  private async tryTake(job: { queue: QueueName; jobId: string; data: NodeJobData }, log: Logger): Promise<{ release?: ReleaseSlot; active?: number; max?: number }> {
    const { nodeAdmission: admission, workspaceMaxActiveNodes: max = 0 } = this.deps;
    if (!admission || max <= 0) return { release: noRelease };
    const workspaceId = job.data.workspaceId;
    const holder = holderOf(job.queue, job.jobId);
    const rank = NODE_JOB_PRIORITY[job.data.priority ?? 'normal'] * 1e13 + Date.now();
    const result = await admission.acquire({ workspaceId, holder, max, rank, leaseMs: this.leaseMs, parkTtlMs: PARK_TTL_MS });
    if (!result.admitted) {
      this.deps.metrics.nodeDeferralsTotal.inc({ event: 'deferred' });
      log.debug({ workspaceId, active: result.active, position: result.position, max }, 'workspace at its active-node cap: node job deferred');
      return { active: result.active, max };
    }
    this.hold(holder, workspaceId);
    const release: ReleaseSlot = async () => {
      this.held.delete(holder);
      if (this.held.size === 0) this.stopRenewing();
      try {
        const next = await admission.release({ workspaceId, holder, max });
        await this.promote(next, log);
      } catch (err) {
        // The lease lapses by itself, and parked jobs come back after DEFER_MS.
        log.warn({ err, workspaceId }, 'node slot release failed: it lapses with its lease');
      }
    };
    return { release };
  }

  /** Promotes parked jobs back to their queues, first in line first. */
  private async promote(holders: readonly string[], log: Logger): Promise<void> {
    for (const holder of holders) {
      const parsed = parseHolder(holder);
      if (!parsed) continue;
      // False: taken meanwhile, promoted already, or gone; its parked entry lapses if gone.
      if (await this.deps.queue.promote(parsed.queue, parsed.jobId)) {
        this.deps.metrics.nodeDeferralsTotal.inc({ event: 'promoted' });
        log.debug({ jobId: parsed.jobId }, 'deferred node job promoted: a slot of its workspace freed');
      }
    }
  }

  private hold(holder: string, workspaceId: string): void {
    this.held.set(holder, workspaceId);
    if (this.timer) return;
    this.timer = setInterval(() => {
      const holders = [...this.held].map(([h, w]) => ({ holder: h, workspaceId: w }));
      if (holders.length === 0) return;
      this.deps.nodeAdmission?.renew(holders, this.leaseMs).catch((err: unknown) => {
        this.deps.logger.warn({ err }, 'node slot renewal failed');
      });
    }, Math.max(1000, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  private stopRenewing(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

const noRelease: ReleaseSlot = () => Promise.resolve();

/** A slot's holder: the node job, by queue and id (what a promotion needs). */
function holderOf(queue: QueueName, jobId: string): string {
  return `${queue}|${jobId}`;
}

function parseHolder(holder: string): { queue: QueueName; jobId: string } | null {
  const bar = holder.indexOf('|');
  if (bar <= 0) return null;
  return { queue: holder.slice(0, bar) as QueueName, jobId: holder.slice(bar + 1) };
}
