/**
 * The node executors' sources over the repos, as the worker runs them: credentials and the
 * egress policy read on each ask with the last known one standing in while Postgres is down
 * (LLM calls ask through the worker's provider clients, on a miss only; http nodes ask per
 * call), prices from a table cached per worker, secrets read per call.
 */
import type { Repos } from '@weft/db/repos';
import type { LlmCredential, PriceRates } from '@weft/shared/ports';
import type { EgressPolicy, NodeSources } from '../nodes/sources.js';
import { LastKnown } from './last-known.js';
import { PriceBook } from './price-book.js';

export interface NodeSourcesOptions {
  repos: Pick<Repos, 'credentials' | 'pricing' | 'secrets' | 'workspaces'>;
  /** How long the price table is kept before a reload. */
  cacheTtlMs?: number;
  /** How long a last known credential may stand in while the database is down. */
  maxStaleMs?: number;
}

export function createNodeSources(options: NodeSourcesOptions): NodeSources {
  const { repos } = options;
  const credentials = new LastKnown<LlmCredential | null>({ maxStaleMs: options.maxStaleMs ?? 3_600_000 });
  // LLM calls read the policy too (the credential's baseUrl is judged by it): like the key, the
  // last known one stands in while Postgres is down, so an outage only delays work.
  const policies = new LastKnown<EgressPolicy>({ maxStaleMs: options.maxStaleMs ?? 3_600_000 });
  const prices = new PriceBook(repos.pricing, { ttlMs: options.cacheTtlMs ?? 30_000 });
  // Read only for a model the table lacks; the last known one stands in while Postgres is down.
  const fallbacks = new LastKnown<PriceRates | null>({ maxStaleMs: options.maxStaleMs ?? 3_600_000 });
  return {
    credentials: {
      // Asked by the provider clients on a miss or past their TTL.
      credential: (workspaceId, provider) => credentials.load(`${workspaceId}/${provider}`, () => repos.credentials.resolve(workspaceId, provider)),
    },
    prices: {
      quote: async (workspaceId, provider, model) => {
        const quote = await prices.quote(provider, model);
        if (quote.pricing === 'priced') return quote;
        const fallback = await fallbacks.load(workspaceId, async () => (await repos.workspaces.getSettings(workspaceId))?.fallbackPrice ?? null);
        return fallback ? { pricing: 'fallback', prices: fallback, pricedAs: null } : quote;
      },
    },
    secrets: { secrets: (workspaceId, names) => repos.secrets.resolveMany(workspaceId, names) },
    egress: {
      egressPolicy: (workspaceId) => policies.load(workspaceId, async () => {
        const settings = await repos.workspaces.getSettings(workspaceId);
        return { allowPrivateNetworks: settings?.httpAllowPrivateNetworks === true };
      }),
    },
  };
}
