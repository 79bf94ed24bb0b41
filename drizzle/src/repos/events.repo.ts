import { and, asc, eq, sql } from 'drizzle-orm';
import { isEventId } from '@weft/shared/engine';
import type { WeftEvent } from '@weft/shared/model';
import type { EventArchive } from '@weft/shared/ports';
import { executionEvents } from '../schema/index.js';
import type { WeftDb } from './db.js';

/** 5 parameters a row: far below Postgres' bind-parameter limit. */
const INSERT_CHUNK_ROWS = 1000;

function idParts(id: string): { ms: number; seq: number } {
  const [ms = '0', seq = '0'] = id.split('-');
  return { ms: Number(ms), seq: Number(seq) };
}

/** Embedded mode's event history in the execution_events table. */
export class PgEventArchive implements EventArchive {
  constructor(private readonly system: WeftDb) {}

  async append(events: readonly WeftEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += INSERT_CHUNK_ROWS) {
      const rows = events.slice(i, i + INSERT_CHUNK_ROWS).map((event) => ({
        executionId: event.executionId, workspaceId: event.workspaceId, ...idParts(event.id), event,
      }));
      await this.system.insert(executionEvents).values(rows).onConflictDoNothing();
    }
  }

  async list(executionId: string, afterId?: string): Promise<WeftEvent[]> {
    const after = afterId !== undefined && isEventId(afterId) ? idParts(afterId) : null;
    const rows = await this.system
      .select({ event: executionEvents.event })
      .from(executionEvents)
      .where(and(
        eq(executionEvents.executionId, executionId),
        after ? sql`(${executionEvents.ms}, ${executionEvents.seq}) > (${after.ms}, ${after.seq})` : undefined,
      ))
      .orderBy(asc(executionEvents.ms), asc(executionEvents.seq));
    return rows.map((r) => r.event);
  }
}
