/**
 * Moves committed results from the flush log to Postgres in batches. A Postgres outage only
 * delays this: unacknowledged entries stay in the log and are retried with backoff, and a
 * dead worker's entries are claimed by another. Hot state gets its TTL only after Postgres
 * confirmed the final execution row.
 */
import pMap from 'p-map';
import type { NodeRunRow, OutputBlobRow, Repos } from '@weft/db/repos';
import {
  executedTopology, executionFailure, executionOutput, isOutputRef, parseOutputRef, sumCost, sumPricing, sumUsage, type BlobAddress,
} from '@weft/shared/engine';
import { isLive, TERMINAL_NODE_STATUSES, type HotExecution, type HotNodeState, type NodeResult } from '@weft/shared/model';
import { toNodeError, WeftError } from '@weft/shared/errors';
import { parseMapItemNodeId } from '@weft/shared/flow';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { ExecutionAdmission, FlushLog, FlushRecord, StateStore } from '@weft/shared/ports';
import { resolveNode, type FlowCache } from '@weft/shared/run-engine';

export interface FlusherDeps {
  state: StateStore;
  /** Released once an end is recorded: the execution stops counting against its workspace's cap. */
  admission?: ExecutionAdmission;
  flushLog: FlushLog;
  repos: Pick<Repos, 'executions' | 'nodeRuns' | 'outputBlobs'> & Partial<Pick<Repos, 'tasks'>>;
  flows: FlowCache;
  logger: Logger;
  metrics: WeftMetrics;
  consumer: string;
  hotStateTtlSeconds: number;
  batchSize?: number;
  blockMs?: number;
  /**
   * WEFT_FLUSH_LINGER_MS: after a read that brought less than a batch, how long the flusher waits
   * for more before it writes (0: it writes at once). The wait takes the batch's Postgres write
   * off the moment a commit is answered, when the worker starts what the commit made ready.
   */
  lingerMs?: number;
  maxBackoffMs?: number;
}

/**
 * Executions a batch finalizes at once. Under the transitions load, one at a time left Postgres
 * 94-219 ms behind at the end of a 100-chain batch, four at a time 53-102 ms. Four of the
 * worker's ten pool connections leave room for the execution claims.
 */
const FINALIZE_CONCURRENCY = 4;

function toRow(input: { executionId: string; nodeId: string; workspaceId: string; flowId: string; nodeType: string; result: NodeResult }): NodeRunRow {
  const r = input.result;
  return {
    executionId: input.executionId,
    workspaceId: input.workspaceId,
    flowId: input.flowId,
    nodeId: input.nodeId,
    // A map item's node: its item's index (the id names it too).
    iteration: parseMapItemNodeId(input.nodeId)?.index ?? 0,
    nodeType: input.nodeType,
    status: r.status,
    attempts: r.attempts,
    input: r.input,
    output: r.output,
    error: r.error,
    usage: r.usage,
    cost: r.cost,
    pricing: r.pricing ?? null,
    pricedAs: r.pricedAs ?? null,
    provider: r.provider,
    model: r.model,
    workerId: r.workerId,
    startedAt: r.startedAt ? new Date(r.startedAt) : null,
    finishedAt: new Date(r.finishedAt),
    runtimeMs: r.runtimeMs,
    ...(r.logs ? { logs: r.logs } : {}),
  };
}

export class Flusher {
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly deps: FlusherDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    const batchSize = this.deps.batchSize ?? 200;
    const blockMs = this.deps.blockMs ?? 500;
    const lingerMs = this.deps.lingerMs ?? 0;
    const maxBackoff = this.deps.maxBackoffMs ?? 30_000;
    let pending: FlushRecord[] = [];
    /** Written to Postgres, acknowledged with the next read (one round trip). */
    let written: string[] = [];
    let backoff = 100;
    while (!this.stopped) {
      try {
        if (pending.length === 0) {
          const { flushLog, consumer } = this.deps;
          pending = written.length > 0 ? await flushLog.ackAndRead(written, consumer, batchSize, blockMs) : await flushLog.read(consumer, batchSize, blockMs);
          written = [];
          if (pending.length > 0 && pending.length < batchSize && lingerMs > 0) {
            await sleep(lingerMs);
            pending = [...pending, ...(await flushLog.read(consumer, batchSize - pending.length, 0))];
          }
        }
        if (pending.length === 0) continue;
        await this.write(pending);
        written = pending.map((p) => p.id);
        this.deps.metrics.flushBatchesTotal.inc({ result: 'ok' });
        pending = [];
        backoff = 100;
      } catch (err) {
        this.deps.metrics.flushBatchesTotal.inc({ result: 'error' });
        this.deps.logger.warn({ err, entries: pending.length, retryInMs: backoff }, 'flush to Postgres failed: will retry');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
    // What the last batch wrote; unacknowledged, it would only be written again by another flusher.
    if (written.length > 0) {
      await this.deps.flushLog.ack(written).catch((err: unknown) => { this.deps.logger.warn({ err, entries: written.length }, 'acknowledging the last flushed batch failed: it is written again'); });
    }
  }

  /** Writes one batch; idempotent (upserts), so a retried batch is harmless. */
  async write(records: readonly FlushRecord[]): Promise<void> {
    const rows = new Map<string, NodeRunRow>();
    const finished: string[] = [];
    const statusChanged = new Set<string>();
    const now = Date.now();
    for (const { entry } of records) {
      if (entry.kind === 'execution') {
        finished.push(entry.executionId);
        continue;
      }
      if (entry.kind === 'status') {
        statusChanged.add(entry.executionId);
        continue;
      }
      let { workspaceId, flowId, nodeType } = entry;
      if (workspaceId === undefined || flowId === undefined || nodeType === undefined) {
        const hot = await this.deps.state.getExecution(entry.executionId);
        if (!hot) continue;
        const flow = await this.deps.flows.get(hot.flowId, hot.flowVersion);
        workspaceId = hot.workspaceId;
        flowId = hot.flowId;
        nodeType = resolveNode(flow, entry.nodeId)?.node.type ?? 'unknown';
      }
      rows.set(`${entry.executionId}/${entry.nodeId}`, toRow({ ...entry, workspaceId, flowId, nodeType }));
      this.deps.metrics.flushLag.observe(Math.max(0, now - Date.parse(entry.result.finishedAt)) / 1000);
    }
    if (rows.size > 0) {
      await this.writeBlobs([...rows.values()]);
      await this.deps.repos.nodeRuns.upsertMany([...rows.values()]);
      this.deps.metrics.flushRowsTotal.inc({ kind: 'node_run' }, rows.size);
    }
    for (const executionId of statusChanged) await this.writeLiveStatus(executionId);
    // Several at once: each is a few Redis and Postgres round trips of its own. Every one runs
    // even when another fails; then the batch fails and is written again (finalize is idempotent).
    await pMap(finished, (executionId) => this.finalize(executionId), { concurrency: FINALIZE_CONCURRENCY, stopOnError: false });
  }

  /**
   * The offloaded values (claim check) these rows reference, copied from hot state to Postgres
   * before the rows: a row in Postgres never names a blob Postgres lacks, so references resolve
   * after hot state is gone (its TTL, a Redis loss, a rebuild). Only a row's own blobs: a
   * reference it took from elsewhere (a map's items, a single-node run's presets) is its origin's.
   */
  private async writeBlobs(rows: readonly NodeRunRow[]): Promise<void> {
    const wanted: Array<BlobAddress & { workspaceId: string; size: number }> = [];
    for (const row of rows) {
      for (const value of [row.output, row.input]) {
        if (!isOutputRef(value)) continue;
        const address = parseOutputRef(value.ref);
        if (address?.executionId === row.executionId) wanted.push({ ...address, workspaceId: row.workspaceId, size: value.size });
      }
    }
    const absent: typeof wanted = [];
    // A few at a time: a batch of 200 entries may name hundreds of MB of blobs.
    for (const group of byBytes(wanted, BLOB_GROUP_BYTES)) {
      const texts = await this.deps.state.getBlobs(group);
      const blobs: OutputBlobRow[] = [];
      group.forEach((blob, i) => {
        const text = texts[i];
        if (typeof text === 'string') blobs.push({ executionId: blob.executionId, blobId: blob.blobId, workspaceId: blob.workspaceId, size: blob.size, text });
        else absent.push(blob);
      });
      if (blobs.length === 0) continue;
      await this.deps.repos.outputBlobs.insertMany(blobs);
      this.deps.metrics.flushRowsTotal.inc({ kind: 'output_blob' }, blobs.length);
    }
    for (const blob of absent) {
      // Hot state expired after an earlier flush wrote it (a re-flushed end), or Redis lost it.
      const held = await this.deps.repos.outputBlobs.getMany({ workspaceId: blob.workspaceId, addresses: [blob] });
      if (held.size === 0) this.deps.logger.error({ executionId: blob.executionId, blobId: blob.blobId }, 'offloaded output missing from hot state and Postgres: its row keeps the reference');
    }
  }

  /**
   * The live status as hot state holds it now, so that entries of a wait and its resume written
   * in either order still leave the latest; an ended execution is finalize's.
   */
  private async writeLiveStatus(executionId: string): Promise<void> {
    const hot = await this.deps.state.getExecution(executionId);
    if (!hot || !isLive(hot.status)) return;
    await this.deps.repos.executions.setLiveStatus({ executionId, status: hot.status });
    this.deps.metrics.flushRowsTotal.inc({ kind: 'execution_status' });
  }

  private async finalize(executionId: string): Promise<void> {
    const hot = await this.deps.state.getExecution(executionId);
    // No hot state: an earlier flush already finalized it and the TTL ran out.
    if (!hot) return;
    const flow = await this.deps.flows.get(hot.flowId, hot.flowVersion);
    const results: Record<string, NodeResult> = {};
    const rows: NodeRunRow[] = [];
    // Rows the flush log already wrote are left alone: only those Postgres lacks or holds
    // differently are written (nodes skipped inside a transition, a flush entry lost in a crash).
    const stored = await this.deps.repos.nodeRuns.listVersions(executionId);
    for (const [nodeId, node] of Object.entries(hot.nodes)) {
      const result = node.result && TERMINAL_NODE_STATUSES.has(node.result.status) ? node.result : cutShort(hot, node);
      if (!result) continue;
      if (node.result) results[nodeId] = result;
      const row = toRow({ executionId, nodeId, workspaceId: hot.workspaceId, flowId: hot.flowId, nodeType: resolveNode(flow, nodeId)?.node.type ?? 'unknown', result });
      const held = stored.get(`${row.nodeId}#${row.iteration}`);
      if (held?.status === row.status && held.finishedAt?.toISOString() === result.finishedAt) continue;
      rows.push(row);
    }
    const all = Object.values(results);
    if (rows.length > 0) {
      await this.writeBlobs(rows);
      await this.deps.repos.nodeRuns.upsertMany(rows);
      this.deps.metrics.flushRowsTotal.inc({ kind: 'node_run' }, rows.length);
    }
    await this.deps.repos.executions.finalize({
      executionId,
      status: hot.status,
      // A single-node run's hot state holds that node alone: its output is that node's.
      output: hot.status === 'completed' ? executionOutput(executedTopology(flow.record, new Set(Object.keys(hot.nodes))), results) : null,
      error: hot.error ?? executionFailure(flow.record, results),
      usage: sumUsage(all),
      cost: sumCost(all),
      ...sumPricing(all),
      startedAt: hot.startedAt ? new Date(hot.startedAt) : null,
      finishedAt: hot.finishedAt ? new Date(hot.finishedAt) : null,
    });
    this.deps.metrics.flushRowsTotal.inc({ kind: 'execution' });
    // External tasks of an ended execution leave their queue: no worker claims them any more.
    if (flow.record.nodes.some((n) => n.type === 'task')) await this.deps.repos.tasks?.settle({ executionId, status: 'cancelled' });
    // A retry may have re-opened the execution since hot state was read: then the row just
    // written is stale, and the retry's own 'running' must stand (hot state keeps no TTL).
    if (!(await this.deps.state.expireExecution(executionId, this.deps.hotStateTtlSeconds))) {
      await this.deps.repos.executions.reopen({ executionId });
      this.deps.logger.info({ executionId }, 'execution re-opened while it was flushed: kept running');
      return;
    }
    // Idempotent: a flush written twice releases once.
    await this.deps.admission?.release({ workspaceId: hot.workspaceId, executionId });
    this.deps.logger.debug({ executionId, status: hot.status }, 'execution flushed to Postgres');
  }
}

/**
 * A node still running when its execution was cancelled or failed (cut by a fail-fast): recorded
 * as cancelled, with its start time, until its own commit (if it ever comes) writes its result.
 */
function cutShort(hot: HotExecution, node: HotNodeState): NodeResult | null {
  if (node.status !== 'running' || (hot.status !== 'cancelled' && hot.status !== 'failed')) return null;
  const finishedAt = hot.finishedAt ?? new Date().toISOString();
  return {
    status: 'cancelled', output: null, usage: null, cost: null, input: null, provider: null, model: null,
    error: toNodeError(new WeftError('NODE_CANCELLED', `the execution ${hot.status === 'cancelled' ? 'was cancelled' : 'failed'} while the node ran`)),
    attempts: node.attempts, workerId: node.workerId, startedAt: node.startedAt, finishedAt,
    runtimeMs: node.startedAt ? Math.max(0, Date.parse(finishedAt) - Date.parse(node.startedAt)) : null,
  };
}

/** How many bytes of blobs the flusher holds at once (one blob larger than this goes alone). */
const BLOB_GROUP_BYTES = 16 * 1024 * 1024;

/** `items` in consecutive groups of at most `limit` bytes (by `size`), each holding at least one item. */
export function byBytes<T extends { size: number }>(items: readonly T[], limit: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && bytes + item.size > limit) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
