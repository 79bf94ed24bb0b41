import type { NodeResult } from '../model/node-result.js';

/** An entry of the flush log: what must reach Postgres. */
export type FlushEntry =
  | {
      kind: 'node';
      executionId: string;
      nodeId: string;
      result: NodeResult;
      /** Context for the node_runs row; the flusher falls back to hot state when absent. */
      workspaceId?: string;
      flowId?: string;
      nodeType?: string;
    }
  /** The execution ended: write its final record. */
  | { kind: 'execution'; executionId: string }
  /** The execution started or stopped waiting: write its live status (running ↔ waiting). */
  | { kind: 'status'; executionId: string };

export interface FlushRecord {
  id: string;
  entry: FlushEntry;
}

/**
 * The log of what must reach Postgres, read by the flushers of the fleet as one consumer group:
 * an entry is delivered to one consumer, stays pending until acknowledged, and is claimed by
 * another consumer once it has been pending longer than the log's claim idle time (its
 * consumer died). Entries that are not a FlushEntry are acknowledged and dropped on read.
 *
 * A log may be split into partitions (Redis: one stream per queue shard, by execution id); then
 * order holds per execution, and a batch is whole or not at all per execution.
 */
export interface FlushLog {
  /** Appends a batch, whole or not at all (split: per execution). */
  append(entries: readonly FlushEntry[]): Promise<void>;
  /**
   * Reads up to `count` unacknowledged entries for this consumer (claims stale ones of dead
   * consumers first), in order (split: in order per execution). Waits up to `blockMs` when
   * there is nothing; `blockMs` ≤ 0 does not wait.
   */
  read(consumer: string, count: number, blockMs: number): Promise<FlushRecord[]>;
  /** Acknowledges and deletes entries: they are done with. */
  ack(ids: readonly string[]): Promise<void>;
  /**
   * ack(ids), then read(): a reader's loop in one round trip where the log can (Redis: when new
   * entries are waiting and no claim is due), in two otherwise.
   */
  ackAndRead(ids: readonly string[], consumer: string, count: number, blockMs: number): Promise<FlushRecord[]>;
  /**
   * The partitions, each a log of its own (one stream): a reader may run one loop per partition,
   * all of them together read every entry. Absent, or `[this]`, for an unsplit log.
   */
  partitions?(): readonly FlushLog[];
  close(): Promise<void>;
}
