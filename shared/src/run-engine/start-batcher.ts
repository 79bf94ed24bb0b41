/**
 * Group commit of the start path: the starts of one workspace that reach the insert in the same
 * turn of the event loop are written by one statement (`ExecutionsRepo.createIfFlowCurrent`),
 * up to `maxBatch` rows. Under load a Postgres round trip, its parse and its write then serve
 * many requests; alone, a start waits only for the end of the current turn (setImmediate).
 * A batch that fails is retried start by start, so a start Postgres refuses fails alone.
 */
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { CurrentFlowStart, ExecutionRow, Repos } from '../ports/database.js';

interface Pending {
  start: CurrentFlowStart;
  resolve: (row: ExecutionRow | null) => void;
  reject: (err: unknown) => void;
}

export class StartBatcher {
  private readonly pending = new Map<string, Pending[]>();
  private scheduled = false;

  constructor(private readonly deps: {
    repos: Pick<Repos, 'executions'>;
    metrics: WeftMetrics;
    logger: Logger;
    /** Rows per statement at most. */
    maxBatch?: number;
  }) {}

  /** The written row, or null when the flow check failed (nothing was written). */
  write(workspaceId: string, start: CurrentFlowStart): Promise<ExecutionRow | null> {
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(workspaceId);
      if (!batch) {
        batch = [];
        this.pending.set(workspaceId, batch);
      }
      batch.push({ start, resolve, reject });
      if (batch.length >= (this.deps.maxBatch ?? 100)) {
        this.pending.delete(workspaceId);
        void this.run(workspaceId, batch);
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => { this.flush(); });
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [workspaceId, batch] of batches) void this.run(workspaceId, batch);
  }

  private async run(workspaceId: string, batch: Pending[]): Promise<void> {
    this.deps.metrics.startBatchRows.observe(batch.length);
    try {
      const rows = await this.deps.repos.executions.createIfFlowCurrent(workspaceId, batch.map((p) => p.start));
      batch.forEach((p, i) => { p.resolve(rows[i] ?? null); });
    } catch (err) {
      const [only] = batch;
      if (batch.length === 1 && only) {
        only.reject(err);
        return;
      }
      this.deps.logger.debug({ err, workspaceId, rows: batch.length }, 'start batch refused: writing its starts one by one');
      await Promise.all(batch.map((p) => this.run(workspaceId, [p])));
    }
  }
}
