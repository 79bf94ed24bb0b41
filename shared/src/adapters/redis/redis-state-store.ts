import { isCluster, scanEveryMaster, type RedisClient } from './connection.js';
import type { ExecutionState } from '../../engine/hot-state.js';
import type { BlobAddress } from '../../engine/output-ref.js';
import { WeftError } from '../../errors/weft-error.js';
import type { HotExecution, NodeError } from '../../model/index.js';
import type {
  CancelExecutionResult,
  CommitNodeInput,
  CommitNodeResult,
  InitExecutionInput,
  InitExecutionResult,
  ReopenNodesResult,
  StartMapInput,
  StartMapResult,
  StartNodeInput,
  StartNodeResult,
  StateStore,
  TimeoutMapResult,
  WaitNodeResult,
  ResumeLinkClaim,
} from '../../ports/state-store.js';
import { executionKeys, resumeLinkKey } from './keys.js';
import { defineWeftScripts, type WeftScripts } from './lua/scripts.js';
import { asFlag, execResults } from './redis-replies.js';
import {
  cancelExecutionArgs,
  commitNodesArgs,
  expireExecutionArgs,
  initExecutionArgs,
  readyAfterArgs,
  reopenNodesArgs,
  restoreExecutionArgs,
  startMapArgs,
  startNodeArgs,
  timeoutMapArgs,
  waitNodeArgs,
  type ScriptCall,
} from './state-script-args.js';
import {
  decodeCancelExecution,
  decodeCommitNodes,
  decodeHotExecution,
  decodeInitExecution,
  decodeReadyAfter,
  decodeReopenNodes,
  decodeStartMap,
  decodeStartNode,
  decodeTimeoutMap,
  decodeWaitNode,
} from './state-script-replies.js';

export interface RedisStateStoreOptions {
  /** Shared command connection; the caller owns (and closes) it. */
  redis: RedisClient;
  prefix: string;
  /**
   * The flush stream's key when a commit may append its node's flush entry in the same script
   * (one Redis server), or the key for an execution (one stream per queue shard); absent on
   * Redis Cluster, where the stream sits in another slot.
   */
  flushStream?: string | ((executionId: string) => string);
}

/**
 * Execution hot state in Redis hashes; every state change is one Lua script (lua/): its
 * arguments are built in state-script-args.ts and its reply decoded in state-script-replies.ts.
 */
export class RedisStateStore implements StateStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly scripts: WeftScripts;
  private readonly flushStream: ((executionId: string) => string) | undefined;
  /** A cluster: events go out by sharded pub/sub, on the channel of their execution's slot. */
  private readonly sharded: boolean;

  constructor(options: RedisStateStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    const stream = options.flushStream;
    this.flushStream = typeof stream === 'string' ? () => stream : stream;
    this.scripts = defineWeftScripts(options.redis);
    this.sharded = isCluster(options.redis);
  }

  async initExecution(input: InitExecutionInput): Promise<InitExecutionResult> {
    return decodeInitExecution(await this.run(initExecutionArgs(this.prefix, input, this.sharded)));
  }

  async startNode(input: StartNodeInput): Promise<StartNodeResult> {
    return decodeStartNode(await this.run(startNodeArgs(this.prefix, input, this.sharded)), input);
  }

  async waitNode(input: { executionId: string; nodeId: string; at: string; tokenHash: string | null; data: Record<string, unknown> }): Promise<WaitNodeResult> {
    return decodeWaitNode(await this.run(waitNodeArgs(this.prefix, input, this.sharded)));
  }

  async cancelExecution(input: { executionId: string; at: string; endAs?: { status: 'failed'; error: NodeError } }): Promise<CancelExecutionResult> {
    return decodeCancelExecution(await this.run(cancelExecutionArgs(this.prefix, input, this.sharded)));
  }

  async reopenNodes(input: { executionId: string; nodeIds: readonly string[]; at: string }): Promise<ReopenNodesResult> {
    return decodeReopenNodes(await this.run(reopenNodesArgs(this.prefix, input, this.sharded)));
  }

  async commitNode(input: CommitNodeInput): Promise<CommitNodeResult> {
    const [result] = await this.commitNodes([input]);
    if (!result) throw new WeftError('INTERNAL_ERROR', 'commit-node answered no step');
    return result;
  }

  async commitNodes(inputs: readonly CommitNodeInput[]): Promise<CommitNodeResult[]> {
    const [first] = inputs;
    if (!first) return [];
    const flushStream = this.flushStream?.(first.executionId);
    // Every step of a run carries its flush entry, or none does (commitAndContinue).
    const flushed = flushStream !== undefined && first.flush !== undefined;
    return decodeCommitNodes(await this.run(commitNodesArgs(this.prefix, inputs, flushStream, this.sharded)), inputs, flushed);
  }

  async readyAfter(input: { executionId: string; nodeId: string; leaseJobId?: string }): Promise<{ ready: string[]; round: number } | null> {
    return decodeReadyAfter(await this.run(readyAfterArgs(this.prefix, input)), input);
  }

  async startMap(input: StartMapInput): Promise<StartMapResult> {
    return decodeStartMap(await this.run(startMapArgs(this.prefix, input, this.sharded)));
  }

  async timeoutMap(input: { executionId: string; nodeId: string; round: number; at: string; error: NodeError }): Promise<TimeoutMapResult> {
    return decodeTimeoutMap(await this.run(timeoutMapArgs(this.prefix, input, this.sharded)));
  }

  async claimResumeLink(input: ResumeLinkClaim): Promise<boolean> {
    // SET NX is atomic: of concurrent claims on any api instance, one gets OK.
    const ttlMs = Math.max(1000, input.expiresAtMs - Date.now());
    return (await this.redis.set(resumeLinkKey(this.prefix, input), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async releaseResumeLink(input: Omit<ResumeLinkClaim, 'expiresAtMs'>): Promise<void> {
    await this.redis.del(resumeLinkKey(this.prefix, input));
  }

  async getExecution(executionId: string): Promise<HotExecution | null> {
    const keys = executionKeys(this.prefix, executionId);
    // One transaction: the three hashes are read as of one instant.
    const replies = await this.redis.multi().hgetall(keys.meta).hgetall(keys.status).hgetall(keys.results).exec();
    const [meta, status, results] = execResults(replies) as [Record<string, string>, Record<string, string>, Record<string, string>];
    return decodeHotExecution(executionId, { meta, status, results });
  }

  async putBlob(input: BlobAddress & { text: string }): Promise<void> {
    await this.redis.hset(executionKeys(this.prefix, input.executionId).blobs, input.blobId, input.text);
  }

  async getBlobs(addresses: readonly BlobAddress[]): Promise<Array<string | null>> {
    if (addresses.length === 0) return [];
    // One HGET each, not a pipeline: blobs of different executions live in different slots of a
    // cluster, and a cluster pipeline must stay on one node. Sent together all the same.
    return Promise.all(addresses.map((a) => this.redis.hget(executionKeys(this.prefix, a.executionId).blobs, a.blobId)));
  }

  async existingExecutions(executionIds: readonly string[]): Promise<Set<string>> {
    if (executionIds.length === 0) return new Set();
    // Not a pipeline: executions sit in different slots of a cluster. Sent together all the same.
    const replies = await Promise.all(executionIds.map((id) => this.redis.exists(executionKeys(this.prefix, id).meta)));
    return new Set(executionIds.filter((_id, i) => replies[i] === 1));
  }

  async restoreExecution(state: ExecutionState): Promise<boolean> {
    if (state.maps.size > 0) throw new WeftError('INTERNAL_ERROR', 'a rebuilt execution has no expanded map: its maps run again', { category: 'permanent' });
    return asFlag(await this.run(restoreExecutionArgs(this.prefix, state)));
  }

  async expireExecution(executionId: string, ttlSeconds: number): Promise<boolean> {
    return asFlag(await this.run(expireExecutionArgs(this.prefix, { executionId, ttlSeconds })));
  }

  async deleteExecutions(executionIds: readonly string[]): Promise<void> {
    if (executionIds.length === 0) return;
    // One UNLINK per execution: its keys share a hash tag (one Cluster slot); different executions
    // may not, so no pipeline (a cluster pipeline must stay on one node). Sent together all the same.
    await Promise.all(executionIds.map((executionId) => this.redis.unlink(...Object.values<string>({ ...executionKeys(this.prefix, executionId) }))));
  }

  async deleteWorkspaceKeys(workspaceId: string): Promise<number> {
    let deleted = 0;
    for await (const { server, keys } of scanEveryMaster(this.redis, `${this.prefix}:*${workspaceId}*`)) {
      const pipeline = server.pipeline();
      for (const key of keys) pipeline.unlink(key);
      deleted += execResults(await pipeline.exec()).reduce<number>((n, r) => n + Number(r), 0);
    }
    return deleted;
  }

  close(): Promise<void> {
    // The connection is the caller's.
    return Promise.resolve();
  }

  private run(call: ScriptCall): Promise<unknown> {
    return this.scripts[call.script](call.keys, call.args);
  }
}
