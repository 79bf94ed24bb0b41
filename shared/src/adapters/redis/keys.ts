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
  ended: string;
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
    /**
     * string with a TTL (ENDED_MARK_TTL_SECONDS): the status an execution was ended with while it
     * had no hot state (a cancel between its execution job's claim of the row and its init):
     * init-execution.lua then writes no hot state
     */
    ended: `${base}:ended`,
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

/** Hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

/**
 * The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag (the text between the first
 * `{` and the next `}`, when not empty) or of the whole key, modulo 16384.
 */
export function clusterSlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % CLUSTER_SLOTS;
}

let slotTags: string[] | undefined;

/**
 * For each slot, a short hash tag that lands on it: the first base-36 counter value that does.
 * Computed once per process (~160k CRCs); every process finds the same table.
 */
function slotTagTable(): string[] {
  if (slotTags) return slotTags;
  const tags = new Array<string>(CLUSTER_SLOTS);
  let left = CLUSTER_SLOTS;
  for (let i = 0; left > 0; i++) {
    const tag = i.toString(36);
    const slot = clusterSlot(tag);
    if (tags[slot] === undefined) {
      tags[slot] = tag;
      left -= 1;
    }
  }
  slotTags = tags;
  return tags;
}

/**
 * The sharded pub/sub channel (Redis Cluster, SPUBLISH) of the events of the executions in one
 * slot: `<prefix>:events:{<tag>}`, the tag one that hashes to that slot. A script publishes an
 * event of an execution to the channel in its execution's slot, the only shard channel a
 * script may reach; the api relay subscribes to the channel of every slot.
 */
export function slotEventsChannel(prefix: string, slot: number): string {
  const tag = slotTagTable()[slot];
  if (tag === undefined) throw new RangeError(`not a cluster slot: ${slot}`);
  return `${prefix}:events:{${tag}}`;
}

/** The sharded events channel of an execution: in the slot of its keys (`{<executionId>}`). */
export function executionEventsChannel(prefix: string, executionId: string): string {
  return slotEventsChannel(prefix, clusterSlot(`{${executionId}}`));
}

/** Every slot's sharded events channel: what a relay subscribes to on a cluster. */
export function allSlotEventsChannels(prefix: string): string[] {
  return Array.from({ length: CLUSTER_SLOTS }, (_, slot) => slotEventsChannel(prefix, slot));
}

/**
 * The channel argument of the scripts that publish an event of `executionId`. On one server,
 * PUBLISH to the workspace's channel: `eventsChannel(prefix, workspaceId)`, or, without a
 * workspace id, its prefix (the script appends the workspace id it reads). Sharded (a cluster),
 * SPUBLISH to the execution's slot channel, marked by a leading `!` (append-event.lua).
 */
export function eventsChannelArg(prefix: string, input: { executionId: string; workspaceId?: string }, sharded: boolean): string {
  return sharded ? `!${executionEventsChannel(prefix, input.executionId)}` : eventsChannel(prefix, input.workspaceId ?? '');
}

/** set: ids of the workspace's executions in flight (ExecutionAdmission); tagged by workspace. */
export function inFlightKey(prefix: string, workspaceId: string): string {
  return `${prefix}:inflight:{${workspaceId}}`;
}

/**
 * A workspace's node slots (WEFT_WORKSPACE_MAX_ACTIVE_NODES, redis-node-admission.ts), tagged by
 * workspace: another slot than its executions' keys on a cluster, hence a call of their own.
 */
export function nodeSlotKeys(prefix: string, workspaceId: string): { active: string; parked: string; parkedUntil: string } {
  const base = `${prefix}:nodes:{${workspaceId}}`;
  return {
    /** zset: holder (node job id) → lease expiry, ms */
    active: `${base}:active`,
    /** zset: holder → rank (priority, then first deferral): the line of deferred jobs */
    parked: `${base}:parked`,
    /** zset: holder → when its parked entry lapses (its job vanished), ms */
    parkedUntil: `${base}:parked-until`,
  };
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
