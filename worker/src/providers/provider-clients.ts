/**
 * The worker's provider clients: one per (workspace, provider), built with the workspace's
 * credential and egress-guarded fetch, and kept with the credential and policy it was built
 * from. A warm LLM call reads no Postgres, decrypts nothing and builds no SDK client.
 *
 * Freshness: the api publishes `provider-clients-invalidated` on the control bus when a
 * credential is stored or deleted, the workspace's egress setting changes or the workspace is
 * deleted, and every worker drops the entries at once (`invalidate`). Pub/sub is not durable, so
 * an entry is also read again once it is `ttlMs` old: a lost message delays a change by at most
 * that. A read that began before an invalidation does not fill the cache (a generation counter),
 * so an old key cannot come back by a race. The reads go through the sources, which let the last
 * known credential and policy stand in while Postgres is down; a re-read that finds the same
 * credential and policy keeps the client, a change builds a new one.
 */
import { LRUCache } from 'lru-cache';
import type { LlmProviderName } from '@weft/shared/flow';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { LlmCredential, ProviderClientsInvalidated } from '@weft/shared/ports';
import type { CredentialSource, EgressPolicy, EgressPolicySource, ProviderClient, ProviderClientSource } from '../nodes/sources.js';
import type { ProviderFactory } from './provider-egress.js';

export interface ProviderClientsOptions {
  /** Where the workspace's key is read on a miss (the runtime's: last known while Postgres is down). */
  credentials: CredentialSource;
  /** Where the workspace's egress policy is read on a miss; the client is built with it. */
  egress: EgressPolicySource;
  /** Builds the provider with the guarded fetch of the policy (ProviderEgress.create). */
  createProvider: ProviderFactory;
  /** Keys from the environment for a workspace without a credential (only with WEFT_ALLOW_ENV_KEYS). */
  envKeys?: Partial<Record<LlmProviderName, string>> | undefined;
  /** WEFT_PROVIDER_CLIENT_CACHE_TTL_MS: how long an entry is trusted without a read; 0: no cache. */
  ttlMs: number;
  /** WEFT_PROVIDER_CLIENT_CACHE_SIZE: entries kept at most, least recently used dropped first. */
  max: number;
  metrics?: Pick<WeftMetrics, 'providerClientCacheTotal'>;
  logger?: Logger;
  now?: () => number;
}

/** A client with the policy it was built with. */
interface Loaded {
  client: ProviderClient;
  egress: EgressPolicy;
}

interface Entry extends Loaded {
  provider: LlmProviderName;
  workspaceId: string;
  loadedAt: number;
}

function cacheKey(workspaceId: string, provider: LlmProviderName): string {
  return `${workspaceId}\n${provider}`;
}

function sameClient(entry: Entry, next: { credential: LlmCredential; egress: EgressPolicy; source: ProviderClient['source'] }): boolean {
  return entry.client.credential.apiKey === next.credential.apiKey
    && entry.client.credential.baseUrl === next.credential.baseUrl
    && entry.client.source === next.source
    && entry.egress.allowPrivateNetworks === next.egress.allowPrivateNetworks;
}

export class ProviderClients implements ProviderClientSource {
  private readonly entries: LRUCache<string, Entry> | null;
  /** Reads in flight, so that concurrent misses of one key share one read. */
  private readonly loading = new Map<string, Promise<ProviderClient | null>>();
  /** Bumped by every invalidation: a read begun before one does not fill the cache. */
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: ProviderClientsOptions) {
    this.now = options.now ?? Date.now;
    this.entries = options.ttlMs > 0
      ? new LRUCache<string, Entry>({
        max: options.max,
        dispose: (entry, _key, reason) => {
          if (reason === 'evict') options.metrics?.providerClientCacheTotal.inc({ provider: entry.provider, result: 'evicted' });
        },
      })
      : null;
  }

  /** Entries held now. */
  get size(): number {
    return this.entries?.size ?? 0;
  }

  client(workspaceId: string, provider: LlmProviderName): Promise<ProviderClient | null> {
    if (this.entries === null) return this.read({ workspaceId, provider, previous: undefined }).then((loaded) => loaded?.client ?? null);
    const key = cacheKey(workspaceId, provider);
    const entry = this.entries.get(key);
    const count = (result: 'hit' | 'miss' | 'reload'): void => { this.options.metrics?.providerClientCacheTotal.inc({ provider, result }); };
    if (entry !== undefined && this.now() - entry.loadedAt < this.options.ttlMs) {
      count('hit');
      return Promise.resolve(entry.client);
    }
    const pending = this.loading.get(key);
    if (pending !== undefined) {
      // Another call is reading this key now: no read of its own.
      count('hit');
      return pending;
    }
    count(entry === undefined ? 'miss' : 'reload');
    const generation = this.generation;
    const read = this.read({ workspaceId, provider, previous: entry }).then((loaded) => {
      this.fill({ key, workspaceId, provider, loaded, generation });
      return loaded?.client ?? null;
    });
    const tracked = read.finally(() => {
      if (this.loading.get(key) === tracked) this.loading.delete(key);
    });
    this.loading.set(key, tracked);
    return tracked;
  }

  /**
   * Drops the entries the message names (the provider of the workspace, every provider of it
   * without `provider`); answers how many. A fallback price is no part of a client: its message
   * drops none.
   */
  invalidate(message: Omit<ProviderClientsInvalidated, 'type'>): number {
    if (message.reason === 'fallback_price') return 0;
    this.generation += 1;
    const matches = (entry: Pick<Entry, 'workspaceId' | 'provider'>): boolean =>
      entry.workspaceId === message.workspaceId && (message.provider === undefined || entry.provider === message.provider);
    // Later calls must not join a read that may have seen the old row.
    for (const key of [...this.loading.keys()]) {
      const [workspaceId = '', provider] = key.split('\n');
      if (matches({ workspaceId, provider: provider as LlmProviderName })) this.loading.delete(key);
    }
    if (this.entries === null) return 0;
    let dropped = 0;
    for (const [key, entry] of [...this.entries.entries()]) {
      if (!matches(entry)) continue;
      this.entries.delete(key);
      dropped += 1;
      this.options.metrics?.providerClientCacheTotal.inc({ provider: entry.provider, result: 'invalidated' });
    }
    return dropped;
  }

  private fill(input: { key: string; workspaceId: string; provider: LlmProviderName; loaded: Loaded | null; generation: number }): void {
    const { entries } = this;
    if (entries === null) return;
    // Read before an invalidation: this call may use it, the cache must not keep it.
    if (input.generation !== this.generation) return;
    if (input.loaded === null) {
      // No credential: nothing is cached, the next call reads again.
      entries.delete(input.key);
      return;
    }
    entries.set(input.key, { provider: input.provider, workspaceId: input.workspaceId, ...input.loaded, loadedAt: this.now() });
  }

  private async read(input: { workspaceId: string; provider: LlmProviderName; previous: Entry | undefined }): Promise<Loaded | null> {
    const { workspaceId, provider, previous } = input;
    const [stored, egress] = await Promise.all([
      this.options.credentials.credential(workspaceId, provider),
      this.options.egress.egressPolicy(workspaceId),
    ]);
    const envKey = stored ? undefined : this.options.envKeys?.[provider];
    const credential: LlmCredential | null = stored ?? (envKey ? { apiKey: envKey, baseUrl: null } : null);
    if (credential === null) return null;
    const source: ProviderClient['source'] = stored ? 'workspace' : 'environment';
    if (previous !== undefined && sameClient(previous, { credential, egress, source })) return { client: previous.client, egress };
    if (previous !== undefined) {
      this.options.logger?.info({ workspaceId, provider, source }, 'provider credential or egress policy changed: client rebuilt');
    }
    return { client: { provider: this.options.createProvider(provider, credential, egress), credential, source }, egress };
  }
}
