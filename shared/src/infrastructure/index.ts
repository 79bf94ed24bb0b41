/**
 * Builds the adapters and the engine of a process from its config: Redis + BullMQ + Postgres
 * in distributed mode, in-memory + PGlite in embedded mode. The api, the worker and the
 * embedded process all build them here; the database comes from the caller's factory
 * (`@weft/db`'s createDatabase), which shared/ cannot import.
 */
import type { RedisOptions } from 'ioredis';
import { openRedis, redisTarget, type RedisClient } from '../adapters/redis/connection.js';
import { flushStreamKey, shardOf } from '../adapters/redis/keys.js';
import { BullMqJobQueue, RedisControlBus, RedisEventBus, RedisExecutionAdmission, RedisNodeAdmission, RedisFlushLog, RedisRateLimiter, RedisSpendLedger, RedisStateStore, RedisTaskWakeups } from '../adapters/redis/index.js';
import { MemoryControlBus, MemoryEventBus, MemoryExecutionAdmission, MemoryNodeAdmission, MemoryFlushLog, MemoryJobQueue, MemoryRateLimiter, MemorySpendLedger, MemoryStateStore, MemoryTaskWakeups } from '../adapters/memory/index.js';
import type { WeftConfig } from '../config/index.js';
import { ResumeLinks } from '../crypto/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { DatabaseFactory, WeftDatabase } from '../ports/database.js';
import type { ControlBus, EventBus, ExecutionAdmission, FlushLog, NodeAdmission, JobQueue, RateLimiter, SpendLedger, StateStore, TaskWakeups } from '../ports/index.js';
import { createRunEngine, type RunEngine } from '../run-engine/index.js';

export interface Readiness {
  name: string;
  check: () => Promise<void>;
}

export interface Infrastructure {
  database: WeftDatabase;
  queue: JobQueue;
  state: StateStore;
  /** The flush log; its reader's blocking reads do not hold up the command connection. */
  flushLog: FlushLog;
  /** What failed attempts were billed for. */
  spendLedger: SpendLedger;
  events: EventBus;
  /** api → workers instructions (cancel). */
  control: ControlBus;
  /** The per-workspace in-flight cap. */
  admission: ExecutionAdmission;
  nodeAdmission: NodeAdmission;
  /** Wakes long-polled task claims (Redis pub/sub, a channel per workspace; in memory in embedded mode). */
  taskWakeups: TaskWakeups;
  /** Distributed mode: the command connection (the api's rate limits share it). */
  redis?: RedisClient | undefined;
  readiness: Readiness[];
  close(): Promise<void>;
}

export async function createInfrastructure(config: WeftConfig, logger: Logger, createDatabase: DatabaseFactory): Promise<Infrastructure> {
  if (!config.masterKey) throw new Error('master key missing: loadConfig or the embedded bootstrap must provide it');
  if (config.mode === 'embedded') {
    const database = await createDatabase({ dataDir: `${config.dataDir}/pgdata`, masterKey: config.masterKey, masterKeyVersion: config.masterKeyVersion, logger });
    await database.migrate();
    // The history goes to PGlite too: a replay after a restart still has the events before it.
    const events = new MemoryEventBus({
      archive: database.repos.events,
      onError: (err) => { logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'event bus: a handler or the event archive failed'); },
    });
    const control = new MemoryControlBus();
    const spendLedger = new MemorySpendLedger();
    const state = new MemoryStateStore({ events, spendLedger });
    const flushLog = new MemoryFlushLog();
    const queue = new MemoryJobQueue();
    const admission = new MemoryExecutionAdmission({ events });
    const nodeAdmission = new MemoryNodeAdmission();
    const taskWakeups = new MemoryTaskWakeups();
    return {
      database, queue, state, flushLog, spendLedger, events, control, admission, nodeAdmission, taskWakeups,
      readiness: [{ name: 'postgres', check: () => database.ping() }],
      async close() {
        await queue.close();
        await control.close();
        await taskWakeups.close();
        await events.close();
        await flushLog.close();
        await state.close();
        await database.close();
      },
    };
  }
  const target = redisTarget(config.redisUrl ?? '', config.redisCluster);
  const databaseUrl = config.databaseUrl ?? '';
  // The api answers while Redis is down: its commands fail at once (no offline queue) or after a
  // timeout, and a start is refused with 503 instead of hanging. Workers wait for Redis instead.
  const failFast: RedisOptions = config.role === 'api'
    ? { enableOfflineQueue: false, commandTimeout: config.apiRedisCommandTimeoutMs, maxRetriesPerRequest: 1 }
    : {};
  // Commands issued in one event-loop turn (a worker's concurrent nodes; a start's two rate-limit
  // counters, and concurrent requests) are auto-pipelined: they leave in one socket write.
  const redis = openRedis(target, { maxRetriesPerRequest: 3, enableReadyCheck: true, lazyConnect: false, ...failFast, enableAutoPipelining: true });
  const flushRedis = openRedis(target, { maxRetriesPerRequest: null });
  redis.on('error', (err: Error) => { logger.warn({ err: err.message }, 'redis connection error'); });
  flushRedis.on('error', (err: Error) => { logger.warn({ err: err.message }, 'redis (flush) connection error'); });
  const database = await createDatabase({ url: databaseUrl, masterKey: config.masterKey, masterKeyVersion: config.masterKeyVersion, logger });
  // On one server a commit appends its node's flush entry (to its shard's stream) in its own
  // script; on a cluster that stream is in another slot than the execution's keys, so the engine
  // appends it apart.
  const shards = config.queueShards;
  const flushStream = (executionId: string): string => flushStreamKey(config.keyPrefix, shardOf(executionId, shards), shards);
  const state = new RedisStateStore({ redis, prefix: config.keyPrefix, ...(config.redisCluster ? {} : { flushStream }) });
  // Appends on the command connection; the flusher reads on its own (and blocks on one more per shard).
  const flushLog = new RedisFlushLog({ redis, readRedis: flushRedis, prefix: config.keyPrefix, shards });
  const spendLedger = new RedisSpendLedger({ redis, prefix: config.keyPrefix });
  const events = new RedisEventBus({
    redis, prefix: config.keyPrefix,
    // The subscriber keeps the default options: it must resubscribe after an outage, not time out.
    subscriberFactory: () => {
      // On a cluster: sharded pub/sub, a subscriber connection per master (RedisEventBus).
      const subscriber = openRedis(target, {}, { shardedSubscribers: true });
      subscriber.on('error', (err: Error) => { logger.warn({ err: err.message }, 'redis (subscriber) connection error'); });
      return subscriber;
    },
  });
  const control = new RedisControlBus({ redis, prefix: config.keyPrefix });
  const admission = new RedisExecutionAdmission({ redis, prefix: config.keyPrefix });
  const nodeAdmission = new RedisNodeAdmission({ redis, prefix: config.keyPrefix });
  const taskWakeups = new RedisTaskWakeups({ redis, prefix: config.keyPrefix });
  const queue = new BullMqJobQueue({
    connection: target, prefix: config.keyPrefix, shards, logger,
    lockDurationMs: config.queueLockMs, stalledIntervalMs: config.queueStalledIntervalMs,
    producerOptions: failFast,
  });
  // Without an offline queue, commands sent before the connection is ready would fail; a
  // cluster client knows its masters (which keyspace walks visit) only once ready.
  if (failFast.enableOfflineQueue === false || config.redisCluster) await waitUntilReady(redis);
  await warnOnEvictionPolicy(redis, logger);
  return {
    database, queue, state, flushLog, spendLedger, events, control, admission, nodeAdmission, taskWakeups, redis,
    readiness: [
      { name: 'redis', check: async () => { await redis.ping(); } },
      { name: 'postgres', check: () => database.ping() },
    ],
    async close() {
      await queue.close();
      await control.close();
      await taskWakeups.close();
      await events.close();
      await state.close();
      await flushLog.close();
      redis.disconnect();
      flushRedis.disconnect();
      await database.close();
    },
  };
}

/** What the api and the worker both run on: configuration and the infrastructure adapters. */
export interface CoreDeps {
  config: WeftConfig;
  database: WeftDatabase;
  queue: JobQueue;
  state: StateStore;
  events: EventBus;
  control?: ControlBus | undefined;
  logger: Logger;
  metrics: WeftMetrics;
  clock: () => Date;
}

/** What a process runs on: its adapters, and the one engine facade over them. */
export interface ProcessResources extends Infrastructure {
  engine: RunEngine;
  clock: () => Date;
}

/** The adapters of createInfrastructure and the engine over them: one FlowCache per process. */
export async function createProcessResources(input: {
  config: WeftConfig;
  logger: Logger;
  metrics: WeftMetrics;
  createDatabase: DatabaseFactory;
}): Promise<ProcessResources> {
  const infra = await createInfrastructure(input.config, input.logger, input.createDatabase);
  if (infra.database.poolStats) input.metrics.observeDbPool(infra.database.poolStats.bind(infra.database));
  const clock = (): Date => new Date();
  const engine = createRunEngine({
    resumeLinks: resumeLinksOf(input.config),
    repos: infra.database.repos, state: infra.state, flushLog: infra.flushLog, spendLedger: infra.spendLedger,
    queue: infra.queue, events: infra.events, control: infra.control, taskWakeups: infra.taskWakeups,
    admission: infra.admission, workspaceMaxInFlight: input.config.quotas.workspaceMaxInFlight,
    // A slot outlives a crashed worker's job lock, so the redelivered job finds it again.
    nodeAdmission: infra.nodeAdmission, workspaceMaxActiveNodes: input.config.quotas.workspaceMaxActiveNodes, nodeSlotLeaseMs: 2 * input.config.queueLockMs,
    claimCheckBytes: input.config.claimCheckBytes,
    logger: input.logger, metrics: input.metrics, clock,
  });
  return { ...infra, engine, clock };
}

/** The resume tokens and links of a process: keys derived from the master key, URLs under WEFT_PUBLIC_URL. */
export function resumeLinksOf(config: WeftConfig): ResumeLinks {
  if (!config.masterKey) throw new Error('master key missing: loadConfig or the embedded bootstrap must provide it');
  return new ResumeLinks({ masterKey: config.masterKey, publicUrl: config.publicUrl, defaultTtlSeconds: config.resumeLinkTtlSeconds });
}

/**
 * The provider rate limiter of a process: in Redis, shared by the whole fleet, in distributed
 * mode; in memory in embedded mode. Its `close()` also closes the connection it opened.
 */
export function createRateLimiter(config: WeftConfig, logger: Logger): RateLimiter {
  if (config.mode === 'embedded') return new MemoryRateLimiter();
  // Its own connection, closed with the limiter: the runtime builds the limiter, apart from the infrastructure.
  const redis = openRedis(redisTarget(config.redisUrl ?? '', config.redisCluster), { maxRetriesPerRequest: 3 });
  redis.on('error', (err: Error) => { logger.warn({ err: err.message }, 'redis (rate limiter) connection error'); });
  const limiter = new RedisRateLimiter({ redis, prefix: config.keyPrefix });
  return {
    acquire: (input) => limiter.acquire(input),
    async close() {
      await limiter.close();
      redis.disconnect();
    },
  };
}

function waitUntilReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => { redis.once('ready', () => { resolve(); }); });
}

/** Evicted hot state would lose executions: Redis must run with noeviction. */
async function warnOnEvictionPolicy(redis: RedisClient, logger: Logger): Promise<void> {
  try {
    const reply = await redis.config('GET', 'maxmemory-policy');
    const policy = reply[1];
    if (policy && policy !== 'noeviction') {
      logger.warn({ policy }, 'redis maxmemory-policy is not noeviction: hot state may be evicted under memory pressure');
    }
  } catch {
    // Managed Redis often forbids CONFIG; nothing to check then.
  }
}
