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

export function flushStreamKey(prefix: string): string {
  return `${prefix}:flush`;
}

export const FLUSH_GROUP = 'flushers';

/** Approximate cap of each execution's event stream (XADD MAXLEN ~). */
export const EVENT_STREAM_MAXLEN = 10_000;

/** BullMQ queue prefix for a Weft key prefix: `{weft}` keeps every queue in one slot. */
export function bullPrefix(prefix: string): string {
  return `{${prefix}}`;
}
