/**
 * What the api relay routes and sends: an event's routing fields plus its JSON, serialised once
 * for every subscriber. The memory bus and replays build frames from event objects; the Redis bus
 * reads them straight off a published message without parsing its body (`readEventFrame`).
 */
import { EVENT_TYPES, type EventFrame, type EventType, type WeftEvent } from '../model/index.js';

export function frameOf(event: WeftEvent): EventFrame {
  const { id, type, executionId, flowId, workspaceId, at } = event;
  return { id, type, executionId, flowId, workspaceId, at, json: JSON.stringify(event) };
}

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * The routing header of a published event: every producer (the Lua `appendEvent`, `eventBody`)
 * writes the fields in this order, as `JSON.stringify` of a `WeftEvent` does, and none of them
 * holds a character JSON escapes (stream ids, event types, UUIDs, node ids, ISO times).
 */
const HEADER = /^\{"id":"(\d+-\d+)","type":"([^"\\]+)","executionId":"([^"\\]+)","flowId":"([^"\\]+)","workspaceId":"([^"\\]+)"(?:,"nodeId":"[^"\\]*")?,"at":"([^"\\]+)","data":\{/;

/**
 * Reads the frame of a published event from its routing header alone; the body (`data`, which may
 * be large) is forwarded as published, never parsed. Null when the message does not have that
 * exact shape (an older or foreign producer, a line break in it): the caller parses it whole.
 */
export function readEventFrame(message: string): EventFrame | null {
  const m = HEADER.exec(message);
  if (!m || !message.endsWith('}}') || message.includes('\n') || message.includes('\r')) return null;
  const [, id, type, executionId, flowId, workspaceId, at] = m;
  if (id === undefined || type === undefined || executionId === undefined || flowId === undefined || workspaceId === undefined || at === undefined) return null;
  if (!EVENT_TYPE_SET.has(type)) return null;
  return { id, type: type as EventType, executionId, flowId, workspaceId, at, json: message };
}
