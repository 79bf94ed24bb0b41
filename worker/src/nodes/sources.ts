/**
 * What node executors read besides their inputs, as narrow interfaces: executors get data, not
 * the database. The worker's runtime implements them over the repos (worker/src/sources), with
 * the caching a worker needs; tests pass plain objects.
 */
import type { PriceQuote } from '@weft/shared/engine';
import type { LlmProviderName } from '@weft/shared/flow';
import type { LlmCredential, LlmProvider } from '@weft/shared/ports';

/** The workspace's own key for a provider. */
export interface CredentialSource {
  /** Null when the workspace has none. Read by the provider clients on a miss (ProviderClients). */
  credential(workspaceId: string, provider: LlmProviderName): Promise<LlmCredential | null>;
}

/** What a model's tokens cost. */
export interface PriceSource {
  /**
   * The model's price in the table (itself, or the row its alias resolves to), else the
   * workspace's fallback price, else `unpriced` (its cost is then recorded as null, marked so).
   * See shared/src/engine/pricing.ts for the rule.
   */
  quote(workspaceId: string, provider: LlmProviderName, model: string): Promise<PriceQuote>;
}

/** The workspace's secrets, read by `{{vault.NAME}}` references. */
export interface SecretSource {
  /** The values of the named secrets the workspace has; a name it lacks is absent from the answer. */
  secrets(workspaceId: string, names: readonly string[]): Promise<Record<string, string>>;
}

export interface EgressPolicy {
  /** Whether http nodes may reach private and loopback addresses (cloud metadata never). */
  allowPrivateNetworks: boolean;
}

/** Where a workspace's http nodes may connect. */
export interface EgressPolicySource {
  /** A workspace that does not exist gets the strict policy. */
  egressPolicy(workspaceId: string): Promise<EgressPolicy>;
}

/** A provider client ready for a call, with the credential it sends. */
export interface ProviderClient {
  /** The adapter over the SDK, sending through the workspace's egress policy. */
  provider: LlmProvider;
  /** Its key is redacted from whatever the call throws. */
  credential: LlmCredential;
  /** The workspace's own credential, or the environment's key (WEFT_ALLOW_ENV_KEYS). */
  source: 'workspace' | 'environment';
}

/** The client an LLM node calls its provider with (the worker's ProviderClients keeps one per workspace and provider). */
export interface ProviderClientSource {
  /**
   * Null when the workspace has no credential for the provider and no environment key stands
   * in. A replaced or deleted key, or a changed egress policy, applies to the next call once the
   * change is announced (at once), or after the cache's TTL.
   */
  client(workspaceId: string, provider: LlmProviderName): Promise<ProviderClient | null>;
}

/** Every source the node executors read, as the runtime builds them. */
export interface NodeSources {
  credentials: CredentialSource;
  prices: PriceSource;
  secrets: SecretSource;
  egress: EgressPolicySource;
}
