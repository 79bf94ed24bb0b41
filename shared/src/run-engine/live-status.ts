/** Postgres stores an execution's live status too (running ↔ waiting): transitions that change it ask the flusher to write it. */
import type { FlushEntry } from '../ports/index.js';
import type { WeftEvent } from '../model/index.js';

/** A status flush entry when these events moved the execution into or out of waiting. */
export function liveStatusEntries(executionId: string, events: readonly Pick<WeftEvent, 'type'>[]): FlushEntry[] {
  return events.some((e) => e.type === 'execution.waiting' || e.type === 'execution.resumed') ? [{ kind: 'status', executionId }] : [];
}
