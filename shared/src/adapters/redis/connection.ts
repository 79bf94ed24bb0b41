/**
 * Connections to Redis: one server, or a Redis Cluster (REDIS_CLUSTER=true), behind one type.
 * Every adapter takes a `RedisClient` and issues only commands that a cluster can route: each
 * script's and MULTI's keys share one hash tag (keys.ts), and whatever walks the keyspace walks
 * every master (`scanEveryMaster`).
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Where Redis is: `urls` holds one URL, or, for a cluster, the seed nodes (any one will do). */
export interface RedisTarget {
  urls: string[];
  cluster: boolean;
}

/** REDIS_URL as the config holds it: one URL, or a comma-separated list of cluster seed URLs. */
export function redisTarget(url: string, cluster: boolean): RedisTarget {
  return { urls: url.split(',').map((u) => u.trim()).filter((u) => u !== ''), cluster };
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * Opens a connection. For a cluster, `options` apply to the connection to each node; the
 * offline queue and the ready check are the cluster client's own settings, and `cluster` adds
 * others (e.g. `shardedSubscribers` for a sharded pub/sub subscriber).
 */
export function openRedis(target: RedisTarget, options: RedisOptions = {}, cluster: ClusterOptions = {}): RedisClient {
  const first = target.urls[0];
  if (first === undefined) throw new Error('no Redis URL given');
  if (!target.cluster) return new Redis(first, options);
  const seeds: ClusterNode[] = target.urls.map((u) => {
    const parsed = new URL(u);
    return { host: parsed.hostname, port: parsed.port === '' ? 6379 : Number(parsed.port) };
  });
  const seed = new URL(first);
  const redisOptions: RedisOptions = {
    ...options,
    ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
    ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
    ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const clusterOptions: ClusterOptions = {
    ...cluster,
    redisOptions,
    ...(options.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: options.enableOfflineQueue }),
    ...(options.enableReadyCheck === undefined ? {} : { enableReadyCheck: options.enableReadyCheck }),
    ...(options.lazyConnect === undefined ? {} : { lazyConnect: options.lazyConnect }),
  };
  return new Cluster(seeds, clusterOptions);
}

/**
 * A second connection to the same Redis with the same options (pub/sub, blocking reads); for a
 * cluster, `cluster` overrides the cluster client's own options.
 */
export function duplicateRedis(client: RedisClient, override: RedisOptions = {}, cluster: ClusterOptions = {}): RedisClient {
  if (!isCluster(client)) return client.duplicate(override);
  return client.duplicate(undefined, {
    ...cluster,
    redisOptions: { ...client.options.redisOptions, ...override },
    // The offline queue is the cluster client's own setting, not each node connection's.
    ...(override.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: override.enableOfflineQueue }),
  });
}

/**
 * Every key matching `match`, in batches, each with the server that holds it (commands on a
 * batch may go to that server in one pipeline). A single server is scanned once; a cluster's
 * keyspace is split over its masters, so each master is scanned in turn. Not for hot paths.
 */
export async function* scanEveryMaster(client: RedisClient, match: string, count = 1000): AsyncIterable<{ server: Redis; keys: string[] }> {
  const servers: Redis[] = isCluster(client) ? client.nodes('master') : [client];
  for (const server of servers) {
    for await (const keys of server.scanStream({ match, count }) as AsyncIterable<string[]>) {
      if (keys.length > 0) yield { server, keys };
    }
  }
}
