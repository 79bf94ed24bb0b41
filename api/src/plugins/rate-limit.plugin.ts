/**
 * Request rate limits per API key and per workspace (architecture.md, "Quotas"), so that minting
 * keys does not multiply a workspace's rate. @fastify/rate-limit counts fixed windows; in
 * distributed mode its Redis store runs on the api's command connection, so every api instance
 * shares one budget. Both counters are asked at once (two commands in flight on one connection).
 * Routes without a workspace key (health, metrics, docs, admin) are not limited. While Redis is
 * unreachable the limits are skipped (fail open): the start path answers 503 on its own.
 */
import { createRequire } from 'node:module';
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { WeftError } from '@weft/shared/errors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { routeAuth } from './auth.plugin.js';

type RedisStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: unknown, key: string) => FastifyRateLimitStore;

/**
 * The plugin's own Redis store (its Lua script, its key format), under `<prefix>:ratelimit:`.
 * Each limiter made with createRateLimit would get a child store whose key prefix carries the
 * route's method and URL, which a limiter made outside a route does not have (they read
 * `undefinedundefined-`): both limiters use the one store, and their keys differ by kind.
 */
function sharedRedisStore(redis: unknown, nameSpace: string): FastifyRateLimitStoreCtor {
  // The store is not in the package's typed entry point; its file is (the package has no exports map).
  const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as RedisStoreCtor;
  const store = new RedisStore(false, false, redis, nameSpace);
  return class SharedRedisStore implements FastifyRateLimitStore {
    incr(...args: Parameters<FastifyRateLimitStore['incr']>): void {
      store.incr(...args);
    }

    child(): FastifyRateLimitStore {
      return store;
    }
  };
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type LimitAnswer = Awaited<ReturnType<Limiter>>;

function exceeded(answer: LimitAnswer): { ttl: number; max: number } | null {
  return !answer.isAllowed && answer.isExceeded ? { ttl: answer.ttl, max: answer.max } : null;
}

async function rateLimitPlugin(app: FastifyInstance): Promise<void> {
  const { config, metrics } = app.deps;
  const { rateLimitPerKey, rateLimitPerWorkspace, rateLimitWindowMs } = config.quotas;
  if (rateLimitPerKey === 0 && rateLimitPerWorkspace === 0) {
    app.decorate('enforceRateLimits', () => Promise.resolve());
    return;
  }
  const redis = app.deps.redis;
  await app.register(rateLimit, {
    global: false,
    skipOnError: true,
    timeWindow: rateLimitWindowMs,
    ...(redis ? { store: sharedRedisStore(redis, `${config.keyPrefix}:ratelimit:`) } : {}),
  });
  const perKey = rateLimitPerKey > 0 ? app.createRateLimit({ max: rateLimitPerKey, keyGenerator: (req: FastifyRequest) => `key:${req.apiKeyId || req.workspaceId}` }) : null;
  const perWorkspace = rateLimitPerWorkspace > 0 ? app.createRateLimit({ max: rateLimitPerWorkspace, keyGenerator: (req: FastifyRequest) => `ws:${req.workspaceId}` }) : null;

  const enforce = async (request: FastifyRequest): Promise<void> => {
    const [byKey, byWorkspace] = await Promise.all([perKey?.(request), perWorkspace?.(request)]);
    const key = byKey ? exceeded(byKey) : null;
    const workspace = byWorkspace ? exceeded(byWorkspace) : null;
    const hit = key ?? workspace;
    if (!hit) return;
    const quota = key ? 'rate_per_key' : 'rate_per_workspace';
    metrics.quotaRefusalsTotal.inc({ quota });
    request.log.info({ quota, max: hit.max, windowMs: rateLimitWindowMs }, 'request rate limited');
    throw new WeftError('RATE_LIMITED', `more than ${hit.max} requests per ${rateLimitWindowMs} ms ${key ? (request.apiKeyId.startsWith('hook:') ? 'for this hook' : 'for this API key') : 'for this workspace'}; retry later`, {
      retryAfterMs: Math.max(1000, hit.ttl),
    });
  };
  app.decorate('enforceRateLimits', enforce);
  // After the auth hook (registered before this plugin), so the key and workspace are known.
  app.addHook('onRequest', async (request) => {
    const auth = routeAuth(request);
    if ((auth !== 'workspace' && auth !== 'worker') || request.workspaceId === '') return;
    await enforce(request);
  });
}

export default fp(rateLimitPlugin, { name: 'weft-rate-limit', fastify: '5.x', dependencies: ['weft-auth'] });
