import type { LlmProviderName } from '@weft/shared/flow';
import type { CoreDeps } from '@weft/shared/infrastructure';
import type { LlmCredential, LlmProvider } from '@weft/shared/ports';
import type { RunEngine } from '@weft/shared/run-engine';

export type { CoreDeps } from '@weft/shared/infrastructure';

/** Everything a worker needs, built once by main.ts (or the embedded process). */
export interface WorkerDeps extends CoreDeps {
  engine: RunEngine;
  /** Builds an SDK adapter for a credential; tests and embedded mode pass the default. */
  createProvider: (name: LlmProviderName, credential: LlmCredential) => LlmProvider;
}
