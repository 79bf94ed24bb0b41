import type { WeftDatabase } from '@weft/db/repos';
import type { WeftConfig } from '@weft/shared/config';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { EventBus, FlushLog, JobQueue, LlmCredential, LlmProvider, SpendLedger, StateStore } from '@weft/shared/ports';
import type { LlmProviderName } from '@weft/shared/flow';

/** What the api and the worker both run on: configuration and the infrastructure adapters. */
export interface CoreDeps {
  config: WeftConfig;
  database: WeftDatabase;
  queue: JobQueue;
  state: StateStore;
  flushLog: FlushLog;
  events: EventBus;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
}

/** Everything a worker needs, built once by main.ts (or the embedded runner). */
export interface WorkerDeps extends CoreDeps {
  spendLedger: SpendLedger;
  /** Builds an SDK adapter for a credential; tests and embedded mode pass the default. */
  createProvider: (name: LlmProviderName, credential: LlmCredential) => LlmProvider;
}
