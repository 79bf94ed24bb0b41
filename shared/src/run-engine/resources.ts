/** The one bag of resources every part of the engine receives (Trigger.dev's RunEngine style). */
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { Repos } from '../ports/database.js';
import type { ControlBus, EventBus, FlushLog, JobQueue, SpendLedger, StateStore } from '../ports/index.js';
import type { FlowCache } from './flow-cache.js';

export interface EngineResources {
  /** `workspaces`: a workspace's deletion ends with its row. */
  repos: Pick<Repos, 'executions' | 'flows' | 'nodeRuns' | 'workspaces'>;
  state: StateStore;
  /** What must reach Postgres (the flusher reads it). */
  flushLog: FlushLog;
  /** What failed attempts were billed for. */
  spendLedger: SpendLedger;
  queue: JobQueue;
  events: EventBus;
  /** api → workers instructions (abort a cancelled execution's calls); absent in a lone process. */
  control?: ControlBus | undefined;
  /** Compiled pinned flow versions: one per process. */
  flows: FlowCache;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
}
