/**
 * Tells every worker to drop its cached provider clients after a change they were built from:
 * a credential stored or deleted, the workspace's egress setting, the workspace's deletion; and
 * its cached workspace settings (egress policy, fallback price), also after a fallback price change.
 * Called after the change is in Postgres. Pub/sub is not durable: a worker that misses the
 * message reads the change once its entry is WEFT_PROVIDER_CLIENT_CACHE_TTL_MS old.
 */
import type { Logger } from '@weft/shared/logging';
import type { ProviderClientsInvalidated } from '@weft/shared/ports';
import type { FastifyBaseLogger } from 'fastify';
import type { ApiDeps } from '../deps.js';

export async function invalidateProviderClients(input: {
  deps: Pick<ApiDeps, 'control'>;
  log: Logger | FastifyBaseLogger;
  change: Omit<ProviderClientsInvalidated, 'type'>;
}): Promise<void> {
  const { deps, log, change } = input;
  if (!deps.control) return;
  try {
    await deps.control.publish({ type: 'provider-clients-invalidated', ...change });
  } catch (err) {
    // The change is in Postgres: workers read it once their cached entry expires.
    log.warn({ err, ...change }, 'publishing a provider client invalidation failed: workers pick the change up within WEFT_PROVIDER_CLIENT_CACHE_TTL_MS');
  }
}
