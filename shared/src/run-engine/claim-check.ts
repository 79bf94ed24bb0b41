/**
 * The claim check (api.md, "Large outputs"): a node output or resolved input whose JSON is over
 * WEFT_CLAIM_CHECK_BYTES is stored once, in the execution's hot state (`blobs`), before the
 * commit that references it; everything that carries results then carries `{ref, size}`. The
 * flusher copies each blob to Postgres (output_blobs) before the node_runs row that references
 * it, so a reference resolves from hot state while it lives and from Postgres after. A value at
 * or under the threshold costs no round trip, here or where results are read.
 */
import {
  collectOutputRefs, outputRef, oversizeBytes, parseOutputRef, replaceOutputRefs, storableJsonText, type BlobAddress,
} from '../engine/index.js';
import { WeftError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { WeftMetrics } from '../metrics/index.js';
import type { NodeResult } from '../model/index.js';
import type { Repos } from '../ports/database.js';
import type { StateStore } from '../ports/index.js';

export interface ClaimCheckDeps {
  state: Pick<StateStore, 'putBlob' | 'getBlobs'>;
  repos: Pick<Repos, 'outputBlobs'>;
  metrics: WeftMetrics;
  /** WEFT_CLAIM_CHECK_BYTES. */
  thresholdBytes: number;
}

export class ClaimCheck {
  constructor(private readonly deps: ClaimCheckDeps) {}

  /**
   * A result field made storable (storableJson) and, when its JSON is over the threshold, stored
   * apart: answers the value to commit, the reference in that case.
   */
  async store(input: { executionId: string; nodeType: string; field: 'output' | 'input'; value: unknown; log: Logger }): Promise<unknown> {
    const { value, text } = storableJsonText(input.value);
    const size = text === undefined ? null : oversizeBytes(text, this.deps.thresholdBytes);
    if (size === null || text === undefined) return value;
    const address: BlobAddress = { executionId: input.executionId, blobId: crypto.randomUUID() };
    await this.deps.state.putBlob({ ...address, text });
    const labels = { node_type: input.nodeType, field: input.field };
    this.deps.metrics.outputsOffloadedTotal.inc(labels);
    this.deps.metrics.outputsOffloadedBytesTotal.inc(labels, size);
    const ref = outputRef(address, size);
    input.log.info({ field: input.field, size, ref: ref.ref }, 'node value over the claim-check threshold: stored apart, referenced');
    return ref;
  }

  /**
   * `value` with every reference in it replaced by the value it names: from hot state, else from
   * Postgres (the workspace's blobs only). A value without references costs no round trip.
   * Throws OUTPUT_REF_MISSING for one neither holds (unless `keepMissing`: then it stays a
   * reference); a Postgres outage throws as a dependency.
   */
  async resolve(workspaceId: string, value: unknown, options: { keepMissing?: boolean } = {}): Promise<unknown> {
    const refs = [...collectOutputRefs(value)];
    if (refs.length === 0) return value;
    return replaceOutputRefs(value, await this.load(workspaceId, refs, options.keepMissing === true));
  }

  /** Results whose outputs hold references, with the values in their place; the others as they are. */
  async resolveResults(workspaceId: string, results: Record<string, NodeResult>): Promise<Record<string, NodeResult>> {
    const refs = new Set<string>();
    for (const result of Object.values(results)) collectOutputRefs(result.output, refs);
    if (refs.size === 0) return results;
    const values = await this.load(workspaceId, [...refs]);
    const resolved: Record<string, NodeResult> = {};
    for (const [id, result] of Object.entries(results)) resolved[id] = { ...result, output: replaceOutputRefs(result.output, values) };
    return resolved;
  }

  private async load(workspaceId: string, refs: readonly string[], keepMissing = false): Promise<Map<string, unknown>> {
    const addresses = refs.map((ref) => {
      const address = parseOutputRef(ref);
      if (!address) throw new WeftError('OUTPUT_REF_MISSING', `malformed output reference '${ref}'`);
      return address;
    });
    const hot = await this.deps.state.getBlobs(addresses);
    const values = new Map<string, unknown>();
    const cold: BlobAddress[] = [];
    addresses.forEach((address, i) => {
      const text = hot[i];
      if (text === null || text === undefined) cold.push(address);
      else values.set(refs[i] ?? '', JSON.parse(text));
    });
    if (values.size > 0) this.deps.metrics.outputRefsResolvedTotal.inc({ source: 'redis' }, values.size);
    if (cold.length === 0) return values;
    const stored = await this.deps.repos.outputBlobs.getMany({ workspaceId, addresses: cold });
    for (const address of cold) {
      const text = stored.get(`${address.executionId}:${address.blobId}`);
      const ref = outputRef(address, 0).ref;
      if (text === undefined) {
        this.deps.metrics.outputRefsResolvedTotal.inc({ source: 'missing' });
        if (keepMissing) continue;
        throw new WeftError('OUTPUT_REF_MISSING', `output reference '${ref}' names no stored value`);
      }
      values.set(ref, JSON.parse(text));
      this.deps.metrics.outputRefsResolvedTotal.inc({ source: 'postgres' });
    }
    return values;
  }
}
