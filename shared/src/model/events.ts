/** The events an execution publishes, in the order clients replay them. */

export const EVENT_TYPES = [
  'execution.queued',
  'execution.started',
  'execution.waiting',
  'execution.resumed',
  'execution.completed',
  'execution.failed',
  'execution.cancelled',
  'node.started',
  'node.token',
  'node.retrying',
  'node.progress',
  'node.waiting',
  'node.completed',
  'node.failed',
  'node.skipped',
  'node.cancelled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface WeftEvent {
  /** Stream id of the per-execution event stream (`<ms>-<seq>`), monotonic per execution. */
  id: string;
  type: EventType;
  executionId: string;
  flowId: string;
  workspaceId: string;
  nodeId?: string;
  at: string;
  data: Record<string, unknown>;
}

export type EventDraft = Omit<WeftEvent, 'id'>;

/** An event by its type and node only: what a caller that reads no bodies is answered (CommitNodeResult). */
export type EventSummary = Pick<WeftEvent, 'type' | 'nodeId'>;

/** Events as summaries: their type and their node, when they have one. */
export function eventSummaries(events: readonly Pick<WeftEvent, 'type' | 'nodeId'>[]): EventSummary[] {
  return events.map((e) => (e.nodeId === undefined ? { type: e.type } : { type: e.type, nodeId: e.nodeId }));
}

/**
 * What the api relay routes and sends: an event's routing fields plus its JSON, serialised once
 * for every subscriber (engine/event-frame.ts builds and reads them).
 */
export interface EventFrame {
  readonly id: string;
  readonly type: EventType;
  readonly executionId: string;
  readonly flowId: string;
  readonly workspaceId: string;
  /** When the event was published (ISO 8601). */
  readonly at: string;
  /** The whole event as JSON, as clients receive it: one line (no CR, no LF), so it fits an SSE `data:` field. */
  readonly json: string;
}


export const TERMINAL_EVENT_TYPES: ReadonlySet<EventType> = new Set([
  'execution.completed',
  'execution.failed',
  'execution.cancelled',
]);
