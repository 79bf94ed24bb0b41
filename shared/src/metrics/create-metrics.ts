/**
 * One registry per process and typed metric objects. Labels are bounded: provider, model,
 * node_type, status, queue, category, code — never an execution id, and never a string a
 * tenant chooses. Where a flow names something (a model), the label is the operator's name for
 * it (the price-table row: engine/pricing.ts `modelLabel`) or `other`; provider and node_type
 * are enums of the flow schema, code a catalog code, route the route's pattern, method one of
 * the methods the api serves or `other` (api/src/plugins/http-metrics.plugin.ts).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WeftMetrics {
  registry: Registry;
  executionsTotal: Counter<'status'>;
  executionsRefusedTotal: Counter<'code'>;
  deadLetterReplaysTotal: Counter<'outcome'>;
  nodesTotal: Counter<'node_type' | 'status'>;
  nodeDuration: Histogram<'node_type' | 'status'>;
  nodeAttemptsTotal: Counter<'node_type' | 'result'>;
  queueJobs: Gauge<'queue' | 'state'>;
  /** The node jobs of a worker pool's types by state (its HPA's metric): `pool` is WEFT_WORKER_POOL. */
  poolQueueJobs: Gauge<'pool' | 'state'>;
  llmTokensTotal: Counter<'provider' | 'model' | 'kind'>;
  llmCostUsdTotal: Counter<'provider' | 'model'>;
  llmUnpricedTokensTotal: Counter<'provider' | 'pricing' | 'kind'>;
  llmUnpricedRefusedTotal: Counter<'provider'>;
  llmRequestDuration: Histogram<'provider' | 'model' | 'result'>;
  httpNodeRequestsTotal: Counter<'outcome'>;
  llmEgressRefusedTotal: Counter<'provider' | 'reason'>;
  secretRedactionsTotal: Counter<'node_type' | 'part'>;
  errorsTotal: Counter<'category' | 'code'>;
  circuitState: Gauge<'provider'>;
  providerThrottledTotal: Counter<'provider' | 'reason'>;
  eventsPublishedTotal: Counter<'type'>;
  eventRelayLag: Histogram;
  eventSubscribers: Gauge<'transport'>;
  /** Event stream requests for an ended execution with nothing left to send (SSE answers 204). */
  eventStreamsEndedTotal: Counter<'transport'>;
  /** Events the api relay received: `delivered` to at least one client of this instance, or `unsubscribed`. */
  eventRelayFramesTotal: Counter<'routed'>;
  /** Messages (events and acknowledgements) sent to clients, and the socket writes that carried them (coalesced per tick). */
  eventRelayMessagesTotal: Counter<'transport'>;
  eventRelayWritesTotal: Counter<'transport'>;
  /** Streams closed because their client read too slowly (WEFT_EVENT_STREAM_MAX_BUFFERED_BYTES). */
  eventSlowConsumersTotal: Counter<'transport'>;
  httpRequestsTotal: Counter<'method' | 'route' | 'status'>;
  httpRequestDuration: Histogram<'method' | 'route'>;
  /** Requests refused before any handler: depth, string_length, invalid_text; or by Postgres: db_data, db_constraint. */
  apiInputRejectedTotal: Counter<'reason'>;
  flushBatchesTotal: Counter<'result'>;
  flushRowsTotal: Counter<'kind'>;
  flushLag: Histogram;
  recoveredTotal: Counter<'kind'>;
  /** Eager dispatch: children run at once by the committing worker, and those handed to the queue after a failed attempt. */
  eagerDispatchTotal: Counter<'result'>;
  mapItemsTotal: Counter<'event'>;
  /** Claim check: outputs (and resolved inputs) stored apart, and their bytes, by node type and field. */
  outputsOffloadedTotal: Counter<'node_type' | 'field'>;
  outputsOffloadedBytesTotal: Counter<'node_type' | 'field'>;
  /** Claim-check references resolved, by where the value came from (redis, postgres) or missing. */
  outputRefsResolvedTotal: Counter<'source'>;
  resumeLinksTotal: Counter<'result'>;
  /** Requests and starts refused by a tenant quota (architecture.md, "Quotas"). */
  quotaRefusalsTotal: Counter<'quota'>;
  /** Node jobs deferred because their workspace was at WEFT_WORKSPACE_MAX_ACTIVE_NODES, and parked ones promoted back. */
  nodeDeferralsTotal: Counter<'event'>;
  /** Schedule ticks by outcome (started, duplicate, skipped) and, when skipped, reason. */
  scheduleTicksTotal: Counter<'outcome' | 'reason'>;
  /** Inbound webhook calls by outcome. */
  hookCallsTotal: Counter<'outcome'>;
  /** Starts the api answered 503 or 429 for after writing the row, by what became of the row. */
  startRollbacksTotal: Counter<'reason' | 'result'>;
  /** Starts by how the flow version was found: hit (cached, one round trip), miss (read from Postgres), stale (cached but changed: read again). */
  startFlowCacheTotal: Counter<'result'>;
  /** Rows per statement of the start path's group commit. */
  startBatchRows: Histogram;
  /** API keys by event: created, revoked (one by one), revoked_with_workspace. */
  apiKeysTotal: Counter<'event'>;
  /** The api's key cache: hit, miss (looked up in Postgres), invalidated (dropped on a revocation). */
  apiKeyCacheTotal: Counter<'result'>;
  /** Worker token lookups of the task protocol by result (hit, miss) and cache entries invalidated. */
  workerTokenCacheTotal: Counter<'result'>;
  /**
   * The worker's provider clients, per provider: hit, miss (built from Postgres), reload (past its
   * TTL, read again), evicted (least recently used), invalidated (dropped on a change).
   */
  providerClientCacheTotal: Counter<'provider' | 'result'>;
  /** Invalidations of provider clients a worker received, by reason (credential, egress, workspace_deleted). */
  providerClientInvalidationsTotal: Counter<'reason'>;
  /** Workspace deletions by event: requested, completed, retried (a step failed, the job runs again). */
  workspaceDeletionsTotal: Counter<'event'>;
  expressionLimitHitsTotal: Counter<'bound'>;
  /** Code node runs by how they ended (ok, error, timeout, memory, stack, output_invalid, output_too_large, cancelled). */
  codeRunsTotal: Counter<'outcome'>;
  /** Time a code node's run took in its sandbox thread, queue wait included, by outcome. */
  codeSandboxDuration: Histogram<'outcome'>;
  /** The database pool, read at each scrape from the source `observeDbPool` gave. */
  dbPoolClients: Gauge<'state'>;
  observeDbPool(source: () => DbPoolStats): void;
  /** External tasks by event (queued, claimed, lease_lapsed, completed, failed, timed_out, retried, parked, released, cancelled, refused). */
  tasksTotal: Counter<'event'>;
  /** Live external tasks of every workspace by state (queued, claimed, parked), polled by workers: queued ones nobody claims show here. */
  taskQueueDepth: Gauge<'state'>;
  /** Long-polled task claims that looked again, by why: a notification (notify) or the slow safety-net poll (poll). */
  taskClaimWakesTotal: Counter<'reason'>;
  /** Long-polled task claims of this api instance waiting for a task now. */
  taskClaimsWaiting: Gauge;
}

/** Connections open and idle, and requests waiting for one (node-postgres' pool counts). */
export interface DbPoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export function createMetrics(options: { registry?: Registry; prefixDefault?: boolean; defaultLabels?: Record<string, string> } = {}): WeftMetrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
  let dbPool: (() => DbPoolStats) | null = null;
  return {
    registry,
    executionsTotal: new Counter({ name: 'weft_executions_total', help: 'Executions reaching a status (queued, running, completed, failed, cancelled)', labelNames: ['status'], registers }),
    deadLetterReplaysTotal: new Counter({ name: 'weft_dead_letter_replays_total', help: 'Dead-letter replays answered, by outcome (replayed, resolved: the node had completed since)', labelNames: ['outcome'], registers }),
    executionsRefusedTotal: new Counter({ name: 'weft_executions_refused_total', help: 'Execution starts refused before anything ran, by catalog code (BUDGET_UNPRICED_MODEL, INVALID_INPUT)', labelNames: ['code'], registers }),
    nodesTotal: new Counter({ name: 'weft_nodes_total', help: 'Node runs finished, by node type and terminal status', labelNames: ['node_type', 'status'], registers }),
    nodeDuration: new Histogram({ name: 'weft_node_duration_seconds', help: 'Node run duration from start to commit', labelNames: ['node_type', 'status'], buckets: durationBuckets, registers }),
    nodeAttemptsTotal: new Counter({ name: 'weft_node_attempts_total', help: 'Node attempts, by result (ok, retry, failed)', labelNames: ['node_type', 'result'], registers }),
    queueJobs: new Gauge({ name: 'weft_queue_jobs', help: 'Jobs per queue and state (waiting, active, delayed, completed, failed)', labelNames: ['queue', 'state'], registers }),
    poolQueueJobs: new Gauge({ name: 'weft_pool_queue_jobs', help: "Node jobs of this worker pool's types (WEFT_WORKER_NODE_TYPES) per state, summed over their queues", labelNames: ['pool', 'state'], registers }),
    llmTokensTotal: new Counter({ name: 'weft_llm_tokens_total', help: 'LLM tokens by provider, model (the price-table row, or other) and kind (prompt, completion, reasoning, cached)', labelNames: ['provider', 'model', 'kind'], registers }),
    llmCostUsdTotal: new Counter({ name: 'weft_llm_cost_usd_total', help: 'LLM spend in USD by provider and model', labelNames: ['provider', 'model'], registers }),
    llmUnpricedTokensTotal: new Counter({
      name: 'weft_llm_unpriced_tokens_total',
      help: 'LLM tokens of models the price table lacks, by provider, pricing (unpriced: no cost recorded; fallback: priced with the workspace fallback price) and kind',
      labelNames: ['provider', 'pricing', 'kind'],
      registers,
    }),
    llmUnpricedRefusedTotal: new Counter({
      name: 'weft_llm_unpriced_refused_total',
      help: 'LLM nodes not started because their model had no price at run time under a maxCostUsd budget, by provider',
      labelNames: ['provider'],
      registers,
    }),
    llmRequestDuration: new Histogram({ name: 'weft_llm_request_duration_seconds', help: 'LLM provider call duration', labelNames: ['provider', 'model', 'result'], buckets: durationBuckets, registers }),
    httpNodeRequestsTotal: new Counter({
      name: 'weft_http_node_requests_total',
      help: 'HTTP node requests by outcome (ok, client_error, rate_limited, server_error, unexpected_status, refused, invalid, timeout, connection_error, response_too_large, cancelled)',
      labelNames: ['outcome'],
      registers,
    }),
    llmEgressRefusedTotal: new Counter({
      name: 'weft_llm_egress_refused_total',
      help: 'LLM calls stopped by the egress wall, by provider and reason (address_blocked, output_too_large)',
      labelNames: ['provider', 'reason'],
      registers,
    }),
    secretRedactionsTotal: new Counter({
      name: 'weft_secret_redactions_total',
      help: 'Node results in which a secret (or a piece of one) echoed by a target was redacted, by node type and part (error, output)',
      labelNames: ['node_type', 'part'],
      registers,
    }),
    errorsTotal: new Counter({ name: 'weft_errors_total', help: 'Node errors by category and code', labelNames: ['category', 'code'], registers }),
    circuitState: new Gauge({ name: 'weft_circuit_state', help: 'Circuit breaker state per provider (0 closed, 1 half-open, 2 open)', labelNames: ['provider'], registers }),
    providerThrottledTotal: new Counter({ name: 'weft_provider_throttled_total', help: 'LLM calls held back by the fleet-wide provider rate limit, by provider and limit (second, minute, concurrent)', labelNames: ['provider', 'reason'], registers }),
    eventsPublishedTotal: new Counter({ name: 'weft_events_published_total', help: 'Events published, by type', labelNames: ['type'], registers }),
    eventRelayLag: new Histogram({ name: 'weft_event_relay_lag_seconds', help: 'Delay between an event being published and the api relaying it', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers }),
    eventSubscribers: new Gauge({ name: 'weft_event_subscribers', help: 'Live event subscribers by transport (ws, sse)', labelNames: ['transport'], registers }),
    eventStreamsEndedTotal: new Counter({ name: 'weft_event_streams_ended_total', help: 'Event stream requests for an ended execution with nothing left to send (SSE: 204), by transport', labelNames: ['transport'], registers }),
    eventRelayFramesTotal: new Counter({ name: 'weft_event_relay_frames_total', help: 'Events received by the api relay, by whether a client of this instance took them (delivered, unsubscribed)', labelNames: ['routed'], registers }),
    eventRelayMessagesTotal: new Counter({ name: 'weft_event_relay_messages_total', help: 'Messages sent to event stream clients by transport (ws, sse)', labelNames: ['transport'], registers }),
    eventRelayWritesTotal: new Counter({ name: 'weft_event_relay_writes_total', help: 'Socket writes to event stream clients by transport (ws, sse); messages of one tick share one write', labelNames: ['transport'], registers }),
    eventSlowConsumersTotal: new Counter({ name: 'weft_event_slow_consumers_total', help: 'Event streams closed because the client read too slowly, by transport (ws, sse)', labelNames: ['transport'], registers }),
    httpRequestsTotal: new Counter({ name: 'weft_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers }),
    apiInputRejectedTotal: new Counter({ name: 'weft_api_input_rejected_total', help: 'Requests refused for their input: depth, string_length, invalid_text (the input guard) or db_data, db_constraint (Postgres refused a value)', labelNames: ['reason'], registers }),
    httpRequestDuration: new Histogram({ name: 'weft_http_request_duration_seconds', help: 'HTTP request duration by method and route', labelNames: ['method', 'route'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 120], registers }),
    flushBatchesTotal: new Counter({ name: 'weft_flush_batches_total', help: 'Batches flushed from hot state to Postgres, by result (ok, error)', labelNames: ['result'], registers }),
    flushRowsTotal: new Counter({ name: 'weft_flush_rows_total', help: 'Rows written to Postgres by the flusher, by kind (node_run, output_blob, execution, execution_status)', labelNames: ['kind'], registers }),
    recoveredTotal: new Counter({ name: 'weft_recovered_total', help: 'Work the recovery sweep did, by kind (queued_execution: re-enqueued; hot_state: rebuilt; in_flight_release: in-flight ids of ended executions released)', labelNames: ['kind'], registers }),
    eagerDispatchTotal: new Counter({ name: 'weft_eager_dispatch_total', help: 'Children run at once by the worker that committed their parent (started), run in memory straight after their parent and committed with it in one step (fused), handed to the queue after a failed attempt (handed_over), or failed by an unexpected error (failed)', labelNames: ['result'], registers }),
    nodeDeferralsTotal: new Counter({ name: 'weft_node_deferrals_total', help: 'Node jobs deferred at their workspace active-node cap (event=deferred) and promoted back to their queue when a slot freed (event=promoted)', labelNames: ['event'], registers }),
    quotaRefusalsTotal: new Counter({ name: 'weft_quota_refusals_total', help: 'Requests refused by a quota, by quota (rate_per_key, rate_per_workspace, in_flight, ws_per_socket, ws_per_key, event_stream_buffer, task_claims)', labelNames: ['quota'], registers }),
    scheduleTicksTotal: new Counter({ name: 'weft_schedule_ticks_total', help: 'Schedule ticks by outcome (started; duplicate: the tick had started already; skipped) and reason of a skip (workspace_quota, flow_missing, invalid_input, paused, deleted; none otherwise)', labelNames: ['outcome', 'reason'], registers }),
    hookCallsTotal: new Counter({ name: 'weft_hook_calls_total', help: 'Inbound webhook calls by outcome (started, not_found, bad_signature, rate_limited, workspace_quota, invalid_body, flow_missing, failed)', labelNames: ['outcome'], registers }),
    startRollbacksTotal: new Counter({ name: 'weft_start_rollbacks_total', help: 'Refused starts whose row was written, by reason (dependency, quota) and result (deleted: it never runs; kept: answered 202, it runs)', labelNames: ['reason', 'result'], registers }),
    startFlowCacheTotal: new Counter({ name: 'weft_start_flow_cache_total', help: 'Starts of flow runs by how the flow version was found: hit (cached; the insert checked it), miss (read from Postgres), stale (cached but changed; read again)', labelNames: ['result'], registers }),
    startBatchRows: new Histogram({ name: 'weft_start_batch_rows', help: 'Executions written per statement by the start path (starts of one workspace in the same event-loop turn)', buckets: [1, 2, 4, 8, 16, 32, 64, 100], registers }),
    outputsOffloadedTotal: new Counter({ name: 'weft_outputs_offloaded_total', help: 'Node outputs (field output) and resolved inputs (field input) stored apart by the claim check, by node type', labelNames: ['node_type', 'field'], registers }),
    outputsOffloadedBytesTotal: new Counter({ name: 'weft_outputs_offloaded_bytes_total', help: 'UTF-8 bytes of the JSON of values stored apart by the claim check', labelNames: ['node_type', 'field'], registers }),
    outputRefsResolvedTotal: new Counter({ name: 'weft_output_refs_resolved_total', help: 'Claim-check references resolved, by source (redis, postgres) or missing', labelNames: ['source'], registers }),
    mapItemsTotal: new Counter({ name: 'weft_map_items_total', help: 'Map items by event (expanded: listed when a map starts; completed, failed: the slots of a completed map)', labelNames: ['event'], registers }),
    resumeLinksTotal: new Counter({ name: 'weft_resume_links_total', help: 'Calls of resume links, by result (resumed, used, expired, invalid, not_waiting)', labelNames: ['result'], registers }),
    apiKeysTotal: new Counter({ name: 'weft_api_keys_total', help: 'API keys by event (created, revoked, revoked_with_workspace)', labelNames: ['event'], registers }),
    apiKeyCacheTotal: new Counter({ name: 'weft_api_key_cache_total', help: 'API key lookups by result (hit, miss) and cache entries invalidated', labelNames: ['result'], registers }),
    workerTokenCacheTotal: new Counter({ name: 'weft_worker_token_cache_total', help: 'Worker token lookups by result (hit, miss) and cache entries invalidated', labelNames: ['result'], registers }),
    providerClientCacheTotal: new Counter({ name: 'weft_provider_client_cache_total', help: 'Provider client lookups of LLM calls by provider and result (hit, miss, reload) and entries dropped (evicted, invalidated)', labelNames: ['provider', 'result'], registers }),
    providerClientInvalidationsTotal: new Counter({ name: 'weft_provider_client_invalidations_total', help: 'Provider client and workspace settings invalidations received, by reason (credential, egress, fallback_price, workspace_deleted)', labelNames: ['reason'], registers }),
    workspaceDeletionsTotal: new Counter({ name: 'weft_workspace_deletions_total', help: 'Workspace deletions by event (requested, completed, retried)', labelNames: ['event'], registers }),
    expressionLimitHitsTotal: new Counter({ name: 'weft_expression_limit_hits_total', help: 'JSONata evaluations stopped by a bound, by bound (time, depth, size, memory)', labelNames: ['bound'], registers }),
    codeRunsTotal: new Counter({ name: 'weft_code_runs_total', help: 'Code node runs by outcome (ok, error, timeout, memory, stack, output_invalid, output_too_large, cancelled)', labelNames: ['outcome'], registers }),
    codeSandboxDuration: new Histogram({ name: 'weft_code_sandbox_duration_seconds', help: 'Code node runs in their sandbox, queue wait included, by outcome', labelNames: ['outcome'], buckets: durationBuckets, registers }),
    tasksTotal: new Counter({ name: 'weft_tasks_total', help: 'External tasks by event (queued, claimed, lease_lapsed, completed, failed, timed_out, retried, parked, released, cancelled, refused)', labelNames: ['event'], registers }),
    taskClaimWakesTotal: new Counter({ name: 'weft_task_claim_wakes_total', help: 'Long-polled task claims that looked again, by reason (notify: a task was queued for them; poll: the safety-net interval)', labelNames: ['reason'], registers }),
    taskClaimsWaiting: new Gauge({ name: 'weft_task_claims_waiting', help: 'Long-polled task claims of this instance waiting for a task now', registers }),
    taskQueueDepth: new Gauge({ name: 'weft_task_queue_depth', help: 'Live external tasks of every workspace by state (queued, claimed, parked)', labelNames: ['state'], registers }),
    flushLag: new Histogram({ name: 'weft_flush_lag_seconds', help: 'Delay between a node commit and its row reaching Postgres', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600], registers }),
    dbPoolClients: new Gauge({
      name: 'weft_db_pool_clients',
      help: 'Database pool (Postgres, or embedded mode\'s connections to its PGlite thread): connections open (total), idle, and queries waiting for one (waiting)',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = dbPool?.();
        if (!stats) return;
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    }),
    observeDbPool(source) {
      dbPool = source;
    },
  };
}
