/**
 * Reply checks for the Redis state store: scripts and raw commands answer `unknown`; nothing is
 * trusted unchecked.
 */
import { EVENT_TYPES, EXECUTION_STATUSES, NODE_STATUSES, type EventSummary, type EventType, type ExecutionStatus, type WeftEvent } from '../../model/index.js';
import type { NodeStatusEntry } from '../../engine/apply-commit.js';
import { WeftError } from '../../errors/weft-error.js';
import { parseWeftEvent } from './redis-event-bus.js';

const EXECUTION_STATUS_SET: ReadonlySet<string> = new Set(EXECUTION_STATUSES);
const NODE_STATUS_SET: ReadonlySet<string> = new Set(NODE_STATUSES);

export function execResults(replies: [Error | null, unknown][] | null): unknown[] {
  if (replies === null) throw malformed('transaction reply (aborted)');
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * The per-stream entry lists of an XREAD(GROUP) reply, whatever the connection's protocol: RESP2
 * `[[key, entries], …]`, RESP3 with ioredis' legacy mapping `[key, entries, …]`, or RESP3 mapped
 * to an object `{key: entries}`. The caller owns the connection, so any of them may arrive.
 */
export function streamReplies(reply: unknown): unknown[] {
  if (reply === null || reply === undefined) return [];
  if (!Array.isArray(reply)) return Object.values(reply as Record<string, unknown>);
  if (typeof reply[0] === 'string') return reply.filter((_v, i) => i % 2 === 1);
  return reply.map((pair) => asArray(pair)[1]);
}

/** Script integers; a connection with `stringNumbers` answers them as strings. */
export function asFlag(value: unknown): boolean {
  return value === 1 || value === '1';
}

export function asArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw malformed('reply (expected an array)');
  return value as unknown[];
}

export function asString(value: unknown): string {
  if (typeof value !== 'string') throw malformed('reply (expected a string)');
  return value;
}

export function asStrings(value: unknown): string[] {
  return asArray(value).map(asString);
}

export function asEvents(value: unknown): WeftEvent[] {
  return asStrings(value).map((json) => parseWeftEvent(json));
}

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/** A brief events list of a script (append-event.lua's `env.brief`): type, node id ('' for none), … */
export function asEventSummaries(value: unknown): EventSummary[] {
  const flat = asStrings(value);
  if (flat.length % 2 !== 0) throw malformed('brief events');
  const events: EventSummary[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const type = flat[i] ?? '';
    const nodeId = flat[i + 1] ?? '';
    if (!EVENT_TYPE_SET.has(type)) throw malformed('event type');
    events.push(nodeId === '' ? { type: type as EventType } : { type: type as EventType, nodeId });
  }
  return events;
}

export function asExecutionStatus(value: unknown): ExecutionStatus {
  if (typeof value !== 'string' || !EXECUTION_STATUS_SET.has(value)) throw malformed('execution status');
  return value as ExecutionStatus;
}

export function asStatusEntry(value: unknown): NodeStatusEntry {
  const v = value as Partial<NodeStatusEntry> | null;
  if (!v || typeof v.status !== 'string' || !NODE_STATUS_SET.has(v.status)) throw malformed('node status');
  return {
    status: v.status,
    attempts: typeof v.attempts === 'number' ? v.attempts : 0,
    startedAt: typeof v.startedAt === 'string' ? v.startedAt : null,
    workerId: typeof v.workerId === 'string' ? v.workerId : null,
    ...(typeof v.tokenHash === 'string' ? { tokenHash: v.tokenHash } : {}),
  };
}

export function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    throw malformed('JSON', err);
  }
}

export function malformed(what: string, cause?: unknown): WeftError {
  return new WeftError('INTERNAL_ERROR', `malformed ${what} in Redis`, { cause });
}
