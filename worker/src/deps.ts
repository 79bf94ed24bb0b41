import type { LlmProviderName } from '@weft/shared/flow';
import type { CoreDeps } from '@weft/shared/infrastructure';
import type { LlmCredential, LlmProvider } from '@weft/shared/ports';
import type { RunEngine } from '@weft/shared/run-engine';
import type { ProviderFetch } from './providers/egress-fetch.js';

export type { CoreDeps } from '@weft/shared/infrastructure';

/** Everything a worker needs, built once by main.ts (or the embedded process). */
export interface WorkerDeps extends CoreDeps {
  engine: RunEngine;
  /**
   * Builds an SDK adapter for a credential; main and embedded mode pass `createProvider`. The
   * runtime hands it the egress-guarded fetch (ProviderEgress): it must send through it.
   */
  createProvider: (name: LlmProviderName, credential: LlmCredential, options: { fetch: ProviderFetch }) => LlmProvider;
}
