/**
 * External tasks (task nodes) and the worker tokens that claim them: the part of the database
 * contract the task protocol (`/v1/tasks/*`, `/v1/worker-tokens`) and the engine use.
 */
import type { BackoffPolicy } from '../flow/types.js';

export interface WorkerTokenRow {
  id: string;
  workspaceId: string;
  name: string;
  prefix: string;
  handlers: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface WorkerTokensRepo {
  /** A new token of the workspace, returned once; throws WORKER_TOKEN_LIMIT_REACHED past `maxTokens`. Null: no such workspace. */
  create(input: { workspaceId: string; name: string; handlers: string[]; maxTokens: number }): Promise<{ token: WorkerTokenRow; secret: string } | null>;
  list(workspaceId: string): Promise<WorkerTokenRow[]>;
  /** False when the workspace holds no such token. */
  revoke(input: { workspaceId: string; tokenId: string }): Promise<boolean>;
  /** Resolves a presented token (hashed, constant-time compared); system path (the token finds its workspace). */
  authenticate(secret: string): Promise<WorkerTokenRow | null>;
}

export type TaskStatus = 'queued' | 'claimed' | 'parked' | 'completed' | 'failed' | 'cancelled';

export interface TaskProgress {
  percent?: number;
  message?: string;
  eta?: string;
  at: string;
}

export interface TaskRow {
  id: string;
  workspaceId: string;
  executionId: string;
  flowId: string;
  flowVersion: number;
  nodeId: string;
  handler: string;
  queue: string | null;
  status: TaskStatus;
  input: unknown;
  secretNames: string[];
  attempt: number;
  maxAttempts: number;
  backoff: BackoffPolicy | null;
  heartbeatTimeoutMs: number;
  leaseId: string | null;
  leaseExpiresAt: Date | null;
  checkpoint: unknown;
  progress: TaskProgress | null;
  nodeStartedAt: string;
  /** The worker token of the latest claim; null before any. */
  workerTokenId: string | null;
}

/** What the engine queues for a task node's spell: the row's own fields, before any claim. */
export type NewTask = Pick<TaskRow,
  'id' | 'workspaceId' | 'executionId' | 'flowId' | 'flowVersion' | 'nodeId' | 'handler' | 'queue' | 'input' | 'secretNames'
  | 'maxAttempts' | 'backoff' | 'heartbeatTimeoutMs' | 'nodeStartedAt'>;

/** The fence every call of a worker on a claimed task carries: the task and the lease it was given. */
export interface TaskLease {
  workspaceId: string;
  taskId: string;
  leaseId: string;
}

export interface SecretDeliveryRow {
  id: string;
  taskId: string;
  executionId: string;
  nodeId: string;
  handler: string;
  workerTokenId: string;
  attempt: number;
  secretNames: string[];
  deliveredAt: Date;
}

export interface TasksRepo {
  /**
   * Queues a task node's spell. A row of the same (execution, node) that has ended is reset (a
   * retry runs the node again); a live one keeps its lease and attempts and takes the new spell.
   * Returns the row's id.
   */
  enqueue(task: NewTask): Promise<string>;
  /**
   * Leases the oldest claimable task of the workspace among `handlers` (and `queues`, when given):
   * queued and due (a lapsed lease is put back by the lease sweep first). Records the secret
   * delivery in the same transaction when the task names secrets.
   */
  claim(input: { workspaceId: string; handlers: readonly string[]; queues?: readonly string[] | undefined; workerTokenId: string; leaseId: string }): Promise<TaskRow | null>;
  /**
   * Extends the lease (and stores the progress); with `release`, ends it at once instead and puts
   * the task back in the queue, so the next claim takes it (a worker shutting down). Null when the
   * lease is not the caller's.
   */
  heartbeat(input: TaskLease & { progress?: TaskProgress | undefined; release?: boolean | undefined }): Promise<TaskRow | null>;
  checkpoint(input: TaskLease & { checkpoint: unknown }): Promise<TaskRow | null>;
  /**
   * Ends the lease with the task's end; null when it is not the caller's. `lapsed`: only if the
   * lease has lapsed (the lease sweep's write, which a heartbeat in time wins over).
   */
  finish(input: TaskLease & { status: 'completed' | 'failed' | 'parked'; lapsed?: boolean | undefined }): Promise<TaskRow | null>;
  /** Puts a leased task back in the queue after `delayMs` (attempts left after a retryable failure or a lapse); `lapsed` as for `finish`. */
  requeue(input: TaskLease & { delayMs: number; lapsed?: boolean | undefined }): Promise<TaskRow | null>;
  /** Claimed tasks whose lease lapsed (no heartbeat in time), oldest lapse first; system path (the lease sweep). */
  lapsed(input: { limit: number }): Promise<TaskRow[]>;
  get(input: { workspaceId: string; taskId: string }): Promise<TaskRow | null>;
  /** The execution's task rows (its document shows their progress). */
  listByExecution(input: { workspaceId: string; executionId: string }): Promise<TaskRow[]>;
  /** Marks the live task of a node ended (its node committed or its execution ended); system path. */
  settle(input: { executionId: string; nodeId?: string | undefined; status: 'completed' | 'failed' | 'cancelled' }): Promise<void>;
  /** Live tasks of every workspace by status (the queue depth gauge); system path. */
  depth(): Promise<Record<'queued' | 'claimed' | 'parked', number>>;
  /** The workspace's secret deliveries, newest first. */
  listDeliveries(input: { workspaceId: string; taskId?: string | undefined; limit: number }): Promise<SecretDeliveryRow[]>;
}
