/**
 * Redis key layout. Every key of one execution carries the hash tag `{<executionId>}` so
 * that they share one Redis Cluster slot and Lua scripts may touch them together.
 */
export interface ExecutionKeys {
  meta: string;
  results: string;
  status: string;
  pending: string;
  taken: string;
  children: string;
  events: string;
  spent: string;
  maps: string;
  items: string;
  slots: string;
  blobs: string;
  leases: string;
}

export function executionKeys(prefix: string, executionId: string): ExecutionKeys {
  const base = `${prefix}:{${executionId}}`;
  return {
    /** hash: workspaceId, flowId, flowVersion, status, input, startedAt, finishedAt, total, remaining, presets (JSON ids) */
    meta: `${base}:meta`,
    /** hash: nodeId → NodeResult JSON (present only once the node is terminal; also preset results) */
    results: `${base}:results`,
    /** hash: nodeId → JSON {status, attempts, startedAt, workerId} for non-terminal nodes */
    status: `${base}:status`,
    /** hash: nodeId → number of incoming edges whose parent is not terminal yet */
    pending: `${base}:pending`,
    /** hash: nodeId → number of incoming edges taken so far */
    taken: `${base}:taken`,
    /** hash: nodeId → JSON array of children ids */
    children: `${base}:children`,
    /** stream: the execution's events; the entry id is the event id */
    events: `${base}:events`,
    /** hash: `<nodeId>|<counter>` → integer, what failed attempts were billed for */
    spent: `${base}:spent`,
    /** hash: map node id → JSON map record (engine/map-record.ts) */
    maps: `${base}:maps`,
    /** hash: `<map>[<index>]` → the item's JSON value */
    items: `${base}:items`,
    /** hash: `<map>[<index>]` → the completed output JSON of the item's output node */
    slots: `${base}:slots`,
    /**
     * hash: blob id → JSON text of an offloaded output (claim check, engine/output-ref.ts); no TTL
     * while the execution lives, the TTL of the other keys once Postgres has the final row
     */
    blobs: `${base}:blobs`,
    /**
     * hash: node id → id of the queue job it ran under by eager dispatch (its lease); read when
     * that job is redelivered (ready-after.lua)
     */
    leases: `${base}:leases`,
  };
}

/**
 * string with a TTL: the one use of a wait's resume link is taken (per waiting spell). In the
 * execution's slot, but outside executionKeys: it outlives nothing and expires by itself.
 */
export function resumeLinkKey(prefix: string, input: { executionId: string; nodeId: string; waitingSince: string }): string {
  return `${prefix}:{${input.executionId}}:resume-link:${input.nodeId}:${Date.parse(input.waitingSince)}`;
}

export function eventsChannel(prefix: string, workspaceId: string): string {
  return `${prefix}:events:${workspaceId}`;
}

export function eventsChannelPattern(prefix: string): string {
  return `${prefix}:events:*`;
}

/** set: ids of the workspace's executions in flight (ExecutionAdmission); tagged by workspace. */
export function inFlightKey(prefix: string, workspaceId: string): string {
  return `${prefix}:inflight:{${workspaceId}}`;
}

/**
 * stream: the flush log of one queue shard (`shardOf`). With one shard it is `<prefix>:flush`, as
 * before shards existed; with more, `<prefix>:flush:{<prefix>:<shard>}`, in the shard's slot.
 */
export function flushStreamKey(prefix: string, shard = 0, shards = 1): string {
  return shards <= 1 ? `${prefix}:flush` : `${prefix}:flush:${shardTag(prefix, shard)}`;
}

export const FLUSH_GROUP = 'flushers';

/** Approximate cap of each execution's event stream (XADD MAXLEN ~). */
export const EVENT_STREAM_MAXLEN = 10_000;

/**
 * BullMQ queue prefix for a Weft key prefix: `{weft}` for the unsharded queues and for every
 * queue with one shard (one slot); `{weft:<shard>}` for shard `shard` of a sharded queue when
 * there are more (`WEFT_QUEUE_SHARDS`), each in a slot of its own.
 */
export function bullPrefix(prefix: string, shard?: number, shards = 1): string {
  return shard === undefined || shards <= 1 ? `{${prefix}}` : shardTag(prefix, shard);
}

/** The hash tag of a queue shard: its queues' BullMQ prefix, the tag of its flush stream. */
export function shardTag(prefix: string, shard: number): string {
  return `{${prefix}:${shard}}`;
}

/**
 * The queue shard of an execution, in [0, shards): FNV-1a (32 bits) of the id's UTF-16 code units,
 * modulo the shard count. Stable across processes and releases: every producer and consumer of
 * the fleet must agree, so changing it (or the shard count) strands the jobs of live executions.
 */
export function shardOf(executionId: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < executionId.length; i++) {
    hash ^= executionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** The shard numbers 0 … shards − 1. */
export function allShards(shards: number): number[] {
  return Array.from({ length: Math.max(1, shards) }, (_, i) => i);
}
