/**
 * The api instance's cache of authenticated API keys, so that a request with a known key costs no
 * Postgres round trip. Entries are keyed by the key's sha-256 (the key itself is not kept), expire
 * after `ttlMs`, and are dropped at once when a revocation arrives over the control bus (any
 * instance's `DELETE /v1/api-keys/:id` or `DELETE /v1/workspaces/:id`). The TTL bounds how long a
 * revocation whose message was lost (a Redis reconnect) can go unnoticed.
 */
import { LRUCache } from 'lru-cache';
import type { WorkerTokenRow } from '@weft/shared/ports';

export interface CachedApiKey {
  workspaceId: string;
  keyId: string;
  /** When this instance last recorded (or saw recorded) a use of the key, ms since the epoch; 0: never. */
  touchedAt: number;
}

/**
 * Also the cache of worker tokens (`CachedWorkerToken`): the same keying, expiry and revocation,
 * with the token's handler scope kept beside its workspace.
 */
export class ApiKeyCache<T extends CachedApiKey = CachedApiKey> {
  private readonly entries: LRUCache<string, T> | null;
  /**
   * Bumped by every invalidation. A lookup that started before one must not fill the cache with
   * what it read: the key may have been revoked between its read and its `set`.
   */
  private generation = 0;

  constructor(options: { ttlMs: number; max: number }) {
    this.entries = options.ttlMs > 0 ? new LRUCache({ max: options.max, ttl: options.ttlMs, ttlAutopurge: false }) : null;
  }

  get enabled(): boolean {
    return this.entries !== null;
  }

  /** A token to pass to `set`, taken before the lookup whose result is cached. */
  snapshot(): number {
    return this.generation;
  }

  get(hash: string): T | undefined {
    return this.entries?.get(hash);
  }

  /** Caches what a lookup begun at `generation` found, unless an invalidation came since. */
  set(hash: string, entry: T, generation: number): void {
    if (generation !== this.generation) return;
    this.entries?.set(hash, entry);
  }

  /** Drops the given keys of the workspace (all of its keys without `keyIds`); answers how many. */
  invalidate(input: { workspaceId: string; keyIds?: readonly string[] | undefined }): number {
    this.generation++;
    if (!this.entries) return 0;
    const keyIds = input.keyIds ? new Set(input.keyIds) : null;
    let dropped = 0;
    for (const [hash, entry] of this.entries.entries()) {
      if (entry.workspaceId !== input.workspaceId) continue;
      if (keyIds && !keyIds.has(entry.keyId)) continue;
      this.entries.delete(hash);
      dropped++;
    }
    return dropped;
  }

  clear(): void {
    this.generation++;
    this.entries?.clear();
  }
}

/** A worker token as the `worker` route auth needs it; `keyId` is the token's id. */
export interface CachedWorkerToken extends CachedApiKey {
  token: WorkerTokenRow;
}

/** An event stream (WebSocket or SSE) open under an API key on this instance. */
export interface LiveConnection {
  workspaceId: string;
  /** The key it was opened with; '' when none (it then closes only with its whole workspace). */
  keyId: string;
  close(): void;
}

/** The event streams open on this instance: a revocation closes those opened with a revoked key. */
export class LiveConnections {
  private readonly open = new Set<LiveConnection>();

  /** Registers a stream; answers the function that forgets it (call it when the stream ends). */
  add(connection: LiveConnection): () => void {
    this.open.add(connection);
    return () => { this.open.delete(connection); };
  }

  /** Closes the streams of the revoked keys (all of the workspace's without `keyIds`); answers how many. */
  closeRevoked(input: { workspaceId: string; keyIds?: readonly string[] | undefined }): number {
    let closed = 0;
    for (const connection of [...this.open]) {
      if (connection.workspaceId !== input.workspaceId) continue;
      if (input.keyIds && !input.keyIds.includes(connection.keyId)) continue;
      this.open.delete(connection);
      connection.close();
      closed += 1;
    }
    return closed;
  }
}

/** The instance's key cache and how revocations reach it and the other instances. */
export interface ApiKeysState {
  cache: ApiKeyCache;
  /** Worker tokens, cached and revoked the same way (a token's id is its `keyId`). */
  workerTokens: ApiKeyCache<CachedWorkerToken>;
  /** Event streams open on this instance, closed when their key is revoked. */
  connections: LiveConnections;
  /**
   * Revokes cached keys on every api instance: this one at once, the others over the control bus.
   * Call it after the keys are gone from Postgres. Worker tokens travel in `keyIds` too: ids are
   * unique across both kinds, and a workspace's deletion (no `keyIds`) drops both.
   */
  revoked(input: { workspaceId: string; keyIds?: string[] }): Promise<void>;
}

