/**
 * The node executors' sources over the repos, as the worker runs them: credentials read on each
 * ask (LLM calls ask through the worker's provider clients, on a miss only), the workspace's
 * settings (egress policy, fallback price) kept for a TTL and forgotten when a change is
 * announced, each with the last known one standing in while Postgres is down; prices from a
 * table cached per worker, secrets read per call.
 */
import type { Repos } from '@weft/db/repos';
import type { LlmCredential, WorkspaceSettings } from '@weft/shared/ports';
import type { NodeSources } from '../nodes/sources.js';
import { LastKnown } from './last-known.js';
import { PriceBook } from './price-book.js';

export interface NodeSourcesOptions {
  repos: Pick<Repos, 'credentials' | 'pricing' | 'secrets' | 'workspaces'>;
  /** How long the price table is kept before a reload. */
  cacheTtlMs?: number;
  /**
   * How long a workspace's settings (its egress policy, its fallback price) are trusted without a
   * read (WEFT_PROVIDER_CLIENT_CACHE_TTL_MS); 0 or absent: read on every ask. A change made
   * through the api is announced on the control bus and `forgetWorkspace` applies it at once.
   */
  settingsTtlMs?: number;
  /** Workspaces whose settings are kept at most (WEFT_PROVIDER_CLIENT_CACHE_SIZE). */
  settingsCacheSize?: number;
  /** How long a last known credential may stand in while the database is down. */
  maxStaleMs?: number;
}

export interface WorkerNodeSources extends NodeSources {
  /** The workspace's settings are read again on their next ask (a change was announced). */
  forgetWorkspace(workspaceId: string): void;
}

export function createNodeSources(options: NodeSourcesOptions): WorkerNodeSources {
  const { repos } = options;
  const maxStaleMs = options.maxStaleMs ?? 3_600_000;
  const credentials = new LastKnown<LlmCredential | null>({ maxStaleMs });
  // The egress policy (LLM calls and http nodes) and the fallback price come from one row, kept
  // for the cache's TTL: an LLM call of an unpriced model or an http node reads no Postgres. Like
  // the key, the last known row stands in while Postgres is down, so an outage only delays work.
  const settings = new LastKnown<WorkspaceSettings | null>({
    maxStaleMs, freshMs: options.settingsTtlMs ?? 0, ...(options.settingsCacheSize === undefined ? {} : { max: options.settingsCacheSize }),
  });
  const settingsOf = (workspaceId: string): Promise<WorkspaceSettings | null> => settings.load(workspaceId, () => repos.workspaces.getSettings(workspaceId));
  const prices = new PriceBook(repos.pricing, { ttlMs: options.cacheTtlMs ?? 30_000 });
  return {
    credentials: {
      // Asked by the provider clients on a miss or past their TTL.
      credential: (workspaceId, provider) => credentials.load(`${workspaceId}/${provider}`, () => repos.credentials.resolve(workspaceId, provider)),
    },
    prices: {
      quote: async (workspaceId, provider, model) => {
        const quote = await prices.quote(provider, model);
        if (quote.pricing === 'priced') return quote;
        // Read only for a model the table lacks.
        const fallback = (await settingsOf(workspaceId))?.fallbackPrice ?? null;
        return fallback ? { pricing: 'fallback', prices: fallback, pricedAs: null } : quote;
      },
    },
    secrets: { secrets: (workspaceId, names) => repos.secrets.resolveMany(workspaceId, names) },
    egress: {
      egressPolicy: async (workspaceId) => ({ allowPrivateNetworks: (await settingsOf(workspaceId))?.httpAllowPrivateNetworks === true }),
    },
    forgetWorkspace: (workspaceId) => { settings.forget((key) => key === workspaceId); },
  };
}
