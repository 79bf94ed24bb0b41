/**
 * The database contract used by the api and the worker. Implemented over drizzle-orm for
 * both node-postgres and PGlite (same schema, same migrations).
 */
import type { EventArchive } from './event-bus.js';
import type { Cost, ExecutionPriority, ExecutionStatus, NodeError, NodeLogEntry, NodeResult, NodeStatus, PricingStatus, Usage } from '../model/index.js';
import type { FlowDefinition, LlmProviderName } from '../flow/types.js';
import type { HookSignatureScheme } from '../triggers/signatures.js';
import type { TasksRepo, WorkerTokensRepo } from './tasks.js';

export interface Page<T> {
  items: T[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

export interface WorkspaceRow {
  id: string;
  name: string;
  createdAt: Date;
}

export interface ApiKeyRow {
  id: string;
  workspaceId: string;
  prefix: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** What a workspace decides for itself (`GET/PATCH /v1/workspace`). */
export interface WorkspaceSettings {
  /** HTTP nodes may reach loopback, private, CGNAT and link-local addresses; never cloud metadata. */
  httpAllowPrivateNetworks: boolean;
  /**
   * USD per 1M tokens for a model the price table lacks (even after aliases); null: such a
   * model stays unpriced, and a start with `maxCostUsd` that would run one is refused.
   */
  fallbackPrice: PriceRates | null;
}

export interface WorkspacesRepo {
  /** Creates the workspace and its first API key in one transaction; the key is returned once. */
  create(input: { name: string }): Promise<{ workspace: WorkspaceRow; apiKey: string }>;
  /** Null when missing or being deleted. */
  get(id: string): Promise<WorkspaceRow | null>;
  /**
   * Resolves a presented API key (hashed, constant-time compared) to its workspace; a read only,
   * with the key's last use so the caller can decide whether to `touchApiKey`.
   */
  authenticate(apiKey: string): Promise<{ workspaceId: string; keyId: string; lastUsedAt: Date | null } | null>;
  /** Records a use of the key unless one at or after `staleBefore` is recorded already. */
  touchApiKey(input: { keyId: string; at: Date; staleBefore: Date }): Promise<void>;
  /**
   * A new key of the workspace, returned once; null when the workspace is missing or being
   * deleted. Throws API_KEY_LIMIT_REACHED when it holds `maxKeys` already.
   */
  createApiKey(input: { workspaceId: string; name: string; maxKeys: number }): Promise<{ key: ApiKeyRow; apiKey: string } | null>;
  /** The workspace's keys, oldest first; never the key or its hash. */
  listApiKeys(workspaceId: string): Promise<ApiKeyRow[]>;
  /**
   * Deletes the key if it belongs to the workspace (`missing` otherwise), unless it is the
   * workspace's last key (`last`): a workspace never locks itself out.
   */
  revokeApiKey(input: { workspaceId: string; keyId: string }): Promise<'revoked' | 'missing' | 'last'>;
  /**
   * Marks the workspace as being deleted and deletes its API keys, in one transaction; idempotent.
   * False when there is no such workspace.
   */
  markDeleting(id: string): Promise<boolean>;
  /** Workspaces marked by `markDeleting` whose deletion has not ended yet. */
  listDeleting(): Promise<string[]>;
  /** Deletes a marked workspace's row and, by cascade, every row it owns; false when none was marked. */
  purge(id: string): Promise<boolean>;
  /** Null when the workspace does not exist. A primary-key read: workers call it per HTTP node. */
  getSettings(workspaceId: string): Promise<WorkspaceSettings | null>;
  /** Applies the given fields and returns the result; null when the workspace does not exist. */
  updateSettings(input: { workspaceId: string; patch: Partial<WorkspaceSettings> }): Promise<WorkspaceSettings | null>;
}

export interface SecretSummary {
  name: string;
  updatedAt: Date;
}

export interface SecretsRepo {
  /** Encrypts with AES-256-GCM (AAD: workspace id, name, key version) and upserts. */
  put(input: { workspaceId: string; name: string; value: string }): Promise<void>;
  /** Names and dates only, by name. */
  list(workspaceId: string): Promise<SecretSummary[]>;
  /** False when there was none. */
  delete(workspaceId: string, name: string): Promise<boolean>;
  /**
   * Decrypted values of the named secrets that exist (missing names are absent from the
   * result), for the worker only; never logged or returned by the api.
   */
  resolveMany(workspaceId: string, names: readonly string[]): Promise<Record<string, string>>;
}

export interface CredentialSummary {
  provider: LlmProviderName;
  last4: string;
  baseUrl: string | null;
  updatedAt: Date;
}

export interface CredentialsRepo {
  /** Encrypts with AES-256-GCM (AAD: workspace id, provider, key version) and upserts. */
  put(input: { workspaceId: string; provider: LlmProviderName; apiKey: string; baseUrl: string | null }): Promise<void>;
  list(workspaceId: string): Promise<CredentialSummary[]>;
  /** False when there was none. */
  delete(workspaceId: string, provider: LlmProviderName): Promise<boolean>;
  /** Decrypted, for the worker only; never logged or returned by the api. */
  resolve(workspaceId: string, provider: LlmProviderName): Promise<{ apiKey: string; baseUrl: string | null } | null>;
}

export interface FlowRecord extends FlowDefinition {
  id: string;
  workspaceId: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface FlowsRepo {
  create(input: { workspaceId: string; flow: FlowDefinition }): Promise<FlowRecord>;
  /** Latest version unless `version` is given; null when missing, deleted or of another workspace. */
  get(input: { workspaceId: string; flowId: string; version?: number }): Promise<FlowRecord | null>;
  list(input: { workspaceId: string; limit: number; cursor?: string }): Promise<Page<FlowRecord>>;
  /** Writes a new immutable version; null when the flow is missing. */
  update(input: { workspaceId: string; flowId: string; flow: FlowDefinition }): Promise<FlowRecord | null>;
  /** Soft delete: running executions keep their pinned version. False when missing. */
  delete(input: { workspaceId: string; flowId: string }): Promise<boolean>;
  /** For workers: a pinned version, regardless of deletion. */
  getVersion(flowId: string, version: number): Promise<FlowRecord | null>;
}

export interface ExecutionRow {
  id: string;
  workspaceId: string;
  flowId: string;
  flowVersion: number;
  status: ExecutionStatus;
  input: unknown;
  output: unknown;
  error: (NodeError & { nodeId?: string }) | null;
  usage: Usage | null;
  cost: Cost | null;
  /** How `cost` was priced over the runs (engine/pricing.ts `sumPricing`); absent before the end. */
  pricing?: PricingStatus | null;
  /** Tokens of unpriced runs, which `cost` leaves out. */
  unpricedTokens?: number | null;
  idempotencyKey: string | null;
  maxCostUsd: number | null;
  /** How its node jobs are ordered in their queues; absent: normal. */
  priority?: ExecutionPriority;
  /** Set for a single-node run: the one node this execution runs. */
  singleNodeId: string | null;
  /** A single-node run's upstream results, preset in hot state (node id → result). */
  presetResults: Record<string, NodeResult> | null;
  /** The schedule whose tick started it; null or absent otherwise. */
  scheduleId?: string | null;
  /** The inbound webhook whose call started it; null or absent otherwise. */
  hookId?: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** An ended execution's final record (ExecutionsRepo.finalize). */
export interface FinalExecution {
  executionId: string;
  status: ExecutionStatus;
  output: unknown;
  error: ExecutionRow['error'];
  usage: Usage | null;
  cost: Cost | null;
  pricing?: PricingStatus | null;
  unpricedTokens?: number | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** What a new execution row is made of (ExecutionsRepo.create). */
export interface NewExecution {
  workspaceId: string;
  flowId: string;
  flowVersion: number;
  input: unknown;
  idempotencyKey?: string | null;
  /**
   * What the key's request was (an opaque digest). A later start with the same key and another
   * fingerprint is refused with IDEMPOTENCY_KEY_REUSED; a row written without one matches any.
   */
  idempotencyFingerprint?: string | null;
  maxCostUsd?: number | null;
  priority?: ExecutionPriority;
  singleNodeId?: string | null;
  presetResults?: Record<string, NodeResult> | null;
  scheduleId?: string | null;
  hookId?: string | null;
}

/** A start for `ExecutionsRepo.createIfFlowCurrent`. */
export interface CurrentFlowStart {
  flowId: string;
  flowVersion: number;
  /** Also check that `flowVersion` is the flow's latest (false: a pinned version). */
  latest: boolean;
  input: unknown;
  maxCostUsd?: number | null;
  priority?: ExecutionPriority;
  /** What started it: a schedule's tick or an inbound webhook's call. */
  scheduleId?: string | null;
  hookId?: string | null;
}

export interface ExecutionsRepo {
  /** Records a live execution's status (running ↔ waiting); a row that is queued or has ended is left alone. */
  setLiveStatus(input: { executionId: string; status: 'running' | 'waiting' }): Promise<void>;
  /**
   * Inserts a queued execution. With an idempotency key already used in the workspace
   * (within 24 h), returns the existing execution and `created: false`.
   */
  create(input: NewExecution): Promise<{ execution: ExecutionRow; created: boolean }>;
  /**
   * The execution an Idempotency-Key created within its window (24 h), for a replay that must
   * answer it even where a new start would now be refused; IDEMPOTENCY_KEY_REUSED (422) when
   * the fingerprint differs, as in `create`. Null when the key is unused or expired.
   */
  findIdempotent(input: { workspaceId: string; idempotencyKey: string; idempotencyFingerprint: string }): Promise<ExecutionRow | null>;
  /**
   * The start path's insert, in one round trip for any number of starts of one workspace: queued
   * flow runs (no idempotency key, not single-node runs), each written only while its flow is
   * live in the workspace, has its `flowVersion` and, with `latest`, while that version is still
   * the flow's latest.
   * One answer per start, in order: the row, or null when that check failed (the caller's cached
   * view of the flow is stale) and nothing was written for it.
   */
  createIfFlowCurrent(workspaceId: string, starts: readonly CurrentFlowStart[]): Promise<Array<ExecutionRow | null>>;
  get(input: { workspaceId: string; executionId: string }): Promise<ExecutionRow | null>;
  /** For workers: no workspace scoping. */
  getById(executionId: string): Promise<ExecutionRow | null>;
  /** Newest first. */
  /** `status`: one or any of several; `createdAfter`/`createdBefore`: exclusive bounds on createdAt. */
  list(input: {
    workspaceId: string; flowId?: string; status?: ExecutionStatus | readonly ExecutionStatus[]; createdAfter?: Date; createdBefore?: Date; limit: number; cursor?: string;
  }): Promise<Page<ExecutionRow>>;
  /** A page of a workspace's execution ids and statuses, by id, after `afterId` (workspace deletion). */
  listIdsByWorkspace(input: { workspaceId: string; afterId?: string; limit: number }): Promise<{ id: string; status: ExecutionStatus }[]>;
  /** How many of the workspace's executions are queued, running or waiting (GET /v1/queues). */
  countLive(workspaceId: string): Promise<{ queued: number; running: number; waiting: number }>;
  /** Executions still queued that were created before `before`, oldest first (recovery sweep). */
  listQueuedBefore(input: { before: Date; limit: number }): Promise<ExecutionRow[]>;
  /** Executions running or waiting, last updated before `before`, least recently updated first (recovery sweep). */
  listLiveBefore(input: { before: Date; limit: number }): Promise<ExecutionRow[]>;
  /**
   * For the execution job (workers, no workspace scoping): queued → running in one statement that
   * answers the row as it now is; `claimed` when this call moved it. A row past queued is read and
   * answered as it is (claimed false); null when there is no such row.
   */
  claimQueued(input: { executionId: string; startedAt: Date }): Promise<{ row: ExecutionRow; claimed: boolean } | null>;
  /**
   * Deletes a row that is still `queued` (a start the api refused after writing it: it must
   * never run); false when the row is gone or no longer queued.
   */
  deleteQueued(input: { executionId: string }): Promise<boolean>;
  /** Which of these ids are rows still live (queued, running or waiting). */
  liveAmong(executionIds: readonly string[]): Promise<Set<string>>;
  /** A failed execution runs again (replay, retry): running, no end, no error, no output. */
  reopen(input: { executionId: string }): Promise<void>;
  /** Writes the final state; idempotent. */
  finalize(input: FinalExecution): Promise<void>;
}

export interface NodeRunRow {
  executionId: string;
  workspaceId: string;
  flowId: string;
  nodeId: string;
  /** 0 for plain nodes; map items and re-runs use other iterations. */
  iteration: number;
  nodeType: string;
  status: NodeStatus;
  attempts: number;
  input: unknown;
  output: unknown;
  error: NodeError | null;
  usage: Usage | null;
  cost: Cost | null;
  /** How `cost` was priced (LLM nodes); null or absent otherwise. */
  pricing?: PricingStatus | null;
  pricedAs?: string | null;
  provider: string | null;
  model: string | null;
  workerId: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  runtimeMs: number | null;
  /** What the node wrote while it ran (a code node's console, size-capped); null or absent: nothing. */
  logs?: NodeLogEntry[] | null;
}

export interface NodeRunsRepo {
  /**
   * Batched upsert on (execution_id, node_id, iteration). Rows of an execution that no longer
   * exists (its workspace was deleted while a node ran) are dropped, not refused.
   */
  upsertMany(rows: readonly NodeRunRow[]): Promise<void>;
  listByExecution(executionId: string): Promise<NodeRunRow[]>;
  /** What each recorded run of the execution holds, by `<nodeId>#<iteration>`: enough to tell a row that is up to date. */
  listVersions(executionId: string): Promise<Map<string, { status: NodeStatus; finishedAt: Date | null }>>;
  /**
   * A node's run history across the flow's executions, newest finished first. With `mapId`,
   * `nodeId` is a node of that map's sub-graph: the runs of it in every item (`<map>[<i>].<node>`).
   */
  listByNode(input: { workspaceId: string; flowId: string; nodeId: string; mapId?: string; limit: number }): Promise<NodeRunRow[]>;
  /** For each of `nodeIds`, its newest completed run in the flow (any execution), by finished_at; absent when none. */
  latestCompleted(input: { workspaceId: string; flowId: string; nodeIds: readonly string[] }): Promise<Map<string, NodeRunRow>>;
}

/** USD per 1M tokens, per kind. */
export interface PriceRates {
  inputPer1M: number;
  outputPer1M: number;
  reasoningPer1M: number;
  cachedPer1M: number;
}

export interface ModelPrice extends PriceRates {
  provider: string;
  model: string;
}

export interface ModelPricingRepo {
  list(): Promise<ModelPrice[]>;
  get(provider: string, model: string): Promise<ModelPrice | null>;
  upsert(price: ModelPrice): Promise<ModelPrice>;
}

export interface MasterKeyRotation {
  /** The key version every re-encrypted row now carries. */
  keyVersion: number;
  /** Rows re-encrypted. */
  credentials: number;
  secrets: number;
  /** Inbound webhooks' signing secrets. */
  hooks: number;
}

export interface MasterKeyRepo {
  /**
   * Re-encrypts every provider credential and secret, sealed with the repo's master key (rows
   * of any key version, each opened with its own version's AAD), with `newKey` and one new key
   * version (the highest in use + 1), in one transaction: a row that cannot be decrypted
   * rotates nothing. Afterwards the processes must run with `newKey` as WEFT_MASTER_KEY.
   */
  rotate(input: { newKey: Buffer }): Promise<MasterKeyRotation>;
}

/** An offloaded output (claim check), as Postgres keeps it: `text` is its JSON. */
export interface OutputBlobRow {
  executionId: string;
  blobId: string;
  workspaceId: string;
  size: number;
  text: string;
}

/** Offloaded outputs, written by the flusher before the node_runs rows that reference them. */
export interface OutputBlobsRepo {
  /** Inserts blobs; one already stored is left as it is (blobs never change). */
  insertMany(rows: readonly OutputBlobRow[]): Promise<void>;
  /** The JSON texts of the workspace's blobs among these, by `<executionId>:<blobId>`. */
  getMany(input: { workspaceId: string; addresses: ReadonlyArray<{ executionId: string; blobId: string }> }): Promise<Map<string, string>>;
}

export interface ScheduleRow {
  id: string;
  workspaceId: string;
  flowId: string;
  cron: string;
  timezone: string;
  input: unknown;
  paused: boolean;
  lastTickAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type ScheduleTickOutcome = 'started' | 'skipped';

export interface ScheduleTickRow {
  scheduleId: string;
  tickAt: Date;
  outcome: ScheduleTickOutcome;
  /** Why a tick was skipped (workspace_quota, flow_missing, invalid_input); null when it started. */
  reason: string | null;
  executionId: string | null;
  recordedAt: Date;
}

export interface SchedulesRepo {
  /**
   * A new schedule of a flow of the workspace; null when the flow is missing or deleted.
   * Throws SCHEDULE_LIMIT_REACHED when the workspace holds `maxSchedules` already.
   */
  create(input: { workspaceId: string; flowId: string; cron: string; timezone: string; input: unknown; maxSchedules: number }): Promise<ScheduleRow | null>;
  /** The flow's schedules, oldest first. */
  listByFlow(input: { workspaceId: string; flowId: string }): Promise<ScheduleRow[]>;
  get(input: { workspaceId: string; scheduleId: string }): Promise<ScheduleRow | null>;
  /** Null when missing. */
  setPaused(input: { workspaceId: string; scheduleId: string; paused: boolean }): Promise<ScheduleRow | null>;
  /** False when missing. */
  delete(input: { workspaceId: string; scheduleId: string }): Promise<boolean>;
  /** For the tick processor: by id, no workspace scoping. */
  getById(scheduleId: string): Promise<ScheduleRow | null>;
  /** For start-up: every schedule, by id, a page after `afterId`. */
  listAll(input: { afterId?: string; limit: number }): Promise<ScheduleRow[]>;
  /**
   * Records what a tick did (the first record of a tick wins) and moves `lastTickAt`; keeps the
   * newest `keep` ticks of the schedule.
   */
  recordTick(input: { workspaceId: string; scheduleId: string; tickAt: Date; outcome: ScheduleTickOutcome; reason: string | null; executionId: string | null; keep: number }): Promise<void>;
  /** The newest ticks first. */
  listTicks(input: { workspaceId: string; scheduleId: string; limit: number }): Promise<ScheduleTickRow[]>;
}

export interface HookRow {
  id: string;
  workspaceId: string;
  flowId: string;
  name: string;
  /** The start of the token, for people to recognise it. */
  prefix: string;
  /** Request headers (lowercase) passed to the flow's input. */
  headers: string[];
  signatureScheme: HookSignatureScheme | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface HooksRepo {
  /**
   * A new hook of a flow of the workspace and its token (returned once; only its hash is kept);
   * null when the flow is missing or deleted. Throws HOOK_LIMIT_REACHED past `maxHooks`.
   */
  create(input: {
    workspaceId: string; flowId: string; name: string; headers: string[];
    signature: { scheme: HookSignatureScheme; secret: string } | null; maxHooks: number;
  }): Promise<{ hook: HookRow; token: string } | null>;
  /** The flow's hooks, oldest first; never the token or the secret. */
  listByFlow(input: { workspaceId: string; flowId: string }): Promise<HookRow[]>;
  /** False when missing (or of another flow). */
  delete(input: { workspaceId: string; flowId: string; hookId: string }): Promise<boolean>;
  /**
   * The hook a presented token names (hashed, then looked up), with its signing secret
   * decrypted; null when none. Records the use at most once a minute.
   */
  resolve(token: string): Promise<{ hook: HookRow; secret: string | null } | null>;
}

export interface Repos {
  workspaces: WorkspacesRepo;
  credentials: CredentialsRepo;
  secrets: SecretsRepo;
  flows: FlowsRepo;
  executions: ExecutionsRepo;
  nodeRuns: NodeRunsRepo;
  pricing: ModelPricingRepo;
  masterKey: MasterKeyRepo;
  /** Embedded mode's event history (the in-memory bus archives here). */
  events: EventArchive;
  outputBlobs: OutputBlobsRepo;
  schedules: SchedulesRepo;
  hooks: HooksRepo;
  /** External tasks of task nodes, and their secret deliveries. */
  tasks: TasksRepo;
  workerTokens: WorkerTokensRepo;
}

export interface WeftDatabase {
  kind: 'pg' | 'pglite';
  repos: Repos;
  /** Applies the committed migrations (idempotent). */
  migrate(): Promise<void>;
  /** Throws when the database is unreachable. */
  ping(): Promise<void>;
  /** The connection pool's counts, for `weft_db_pool_clients`. */
  poolStats?(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/** Opens the database: Postgres by URL (distributed mode) or PGlite in a folder (embedded mode). */
export type DatabaseFactory = (options:
  | { url: string; masterKey: Buffer | null; masterKeyVersion?: number; logger?: { warn(obj: object, msg: string): void } }
  | { dataDir: string; masterKey: Buffer | null; masterKeyVersion?: number; logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void } }) => Promise<WeftDatabase>;
