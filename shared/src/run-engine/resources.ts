/** The one bag of resources every part of the engine receives (Trigger.dev's RunEngine style). */
import type { ResumeLinks } from '../crypto/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { Repos } from '../ports/database.js';
import type { ControlBus, EventBus, ExecutionAdmission, FlushLog, JobQueue, NodeAdmission, SpendLedger, StateStore, TaskWakeups } from '../ports/index.js';
import type { ClaimCheck } from './claim-check.js';
import type { FlowCache } from './flow-cache.js';

export interface EngineResources {
  /**
   * `workspaces`: a workspace's deletion ends with its row; `pricing`: a start's budget check;
   * `tasks`, `secrets`: external tasks and the secrets their workers receive.
   */
  repos: Pick<Repos, 'executions' | 'flows' | 'nodeRuns' | 'outputBlobs' | 'pricing' | 'workspaces' | 'tasks' | 'secrets'>;
  state: StateStore;
  /** What must reach Postgres (the flusher reads it). */
  flushLog: FlushLog;
  /** What failed attempts were billed for. */
  spendLedger: SpendLedger;
  queue: JobQueue;
  events: EventBus;
  /** The per-workspace in-flight cap: admitted at the start, released when the end is recorded. */
  admission: ExecutionAdmission;
  /** WEFT_WORKSPACE_MAX_IN_FLIGHT; 0 or absent: no cap. */
  workspaceMaxInFlight?: number | undefined;
  /** The per-workspace cap on node jobs in flight fleet-wide (node-slots.ts); absent: no cap. */
  nodeAdmission?: NodeAdmission | undefined;
  /** WEFT_WORKSPACE_MAX_ACTIVE_NODES; 0 or absent: no cap. */
  workspaceMaxActiveNodes?: number | undefined;
  /** How long a node slot lasts without renewal (a crashed worker's slot lapses after it). */
  nodeSlotLeaseMs?: number | undefined;
  /** Wakes the long-polled task claims of a workspace when a task of their handlers is queued. */
  taskWakeups: TaskWakeups;
  /** api → workers instructions (abort a cancelled execution's calls); absent in a lone process. */
  control?: ControlBus | undefined;
  /** Large outputs stored apart and referenced (WEFT_CLAIM_CHECK_BYTES), and their references resolved. */
  claimCheck: ClaimCheck;
  /** Compiled pinned flow versions: one per process. */
  flows: FlowCache;
  /** Makes and checks wait tokens and resume links (keys derived from the master key). */
  resumeLinks: ResumeLinks;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
}
