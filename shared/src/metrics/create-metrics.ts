/**
 * One registry per process and typed metric objects. Labels are bounded: provider, model,
 * node_type, status, queue, category, code — never an execution id.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WeftMetrics {
  registry: Registry;
  executionsTotal: Counter<'status'>;
  nodesTotal: Counter<'node_type' | 'status'>;
  nodeDuration: Histogram<'node_type' | 'status'>;
  nodeAttemptsTotal: Counter<'node_type' | 'result'>;
  queueJobs: Gauge<'queue' | 'state'>;
  llmTokensTotal: Counter<'provider' | 'model' | 'kind'>;
  llmCostUsdTotal: Counter<'provider' | 'model'>;
  llmRequestDuration: Histogram<'provider' | 'model' | 'result'>;
  httpNodeRequestsTotal: Counter<'outcome'>;
  errorsTotal: Counter<'category' | 'code'>;
  circuitState: Gauge<'provider'>;
  providerThrottledTotal: Counter<'provider' | 'reason'>;
  eventsPublishedTotal: Counter<'type'>;
  eventRelayLag: Histogram;
  eventSubscribers: Gauge<'transport'>;
  httpRequestsTotal: Counter<'method' | 'route' | 'status'>;
  httpRequestDuration: Histogram<'method' | 'route'>;
  flushBatchesTotal: Counter<'result'>;
  flushRowsTotal: Counter<'kind'>;
  flushLag: Histogram;
  recoveredTotal: Counter<'kind'>;
  mapItemsTotal: Counter<'event'>;
  expressionLimitHitsTotal: Counter<'bound'>;
}

export function createMetrics(options: { registry?: Registry; prefixDefault?: boolean; defaultLabels?: Record<string, string> } = {}): WeftMetrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
  return {
    registry,
    executionsTotal: new Counter({ name: 'weft_executions_total', help: 'Executions reaching a status (queued, running, completed, failed, cancelled)', labelNames: ['status'], registers }),
    nodesTotal: new Counter({ name: 'weft_nodes_total', help: 'Node runs finished, by node type and terminal status', labelNames: ['node_type', 'status'], registers }),
    nodeDuration: new Histogram({ name: 'weft_node_duration_seconds', help: 'Node run duration from start to commit', labelNames: ['node_type', 'status'], buckets: durationBuckets, registers }),
    nodeAttemptsTotal: new Counter({ name: 'weft_node_attempts_total', help: 'Node attempts, by result (ok, retry, failed)', labelNames: ['node_type', 'result'], registers }),
    queueJobs: new Gauge({ name: 'weft_queue_jobs', help: 'Jobs per queue and state (waiting, active, delayed, completed, failed)', labelNames: ['queue', 'state'], registers }),
    llmTokensTotal: new Counter({ name: 'weft_llm_tokens_total', help: 'LLM tokens by provider, model and kind (prompt, completion, reasoning, cached)', labelNames: ['provider', 'model', 'kind'], registers }),
    llmCostUsdTotal: new Counter({ name: 'weft_llm_cost_usd_total', help: 'LLM spend in USD by provider and model', labelNames: ['provider', 'model'], registers }),
    llmRequestDuration: new Histogram({ name: 'weft_llm_request_duration_seconds', help: 'LLM provider call duration', labelNames: ['provider', 'model', 'result'], buckets: durationBuckets, registers }),
    httpNodeRequestsTotal: new Counter({
      name: 'weft_http_node_requests_total',
      help: 'HTTP node requests by outcome (ok, client_error, rate_limited, server_error, unexpected_status, refused, invalid, timeout, connection_error, response_too_large, cancelled)',
      labelNames: ['outcome'],
      registers,
    }),
    errorsTotal: new Counter({ name: 'weft_errors_total', help: 'Node errors by category and code', labelNames: ['category', 'code'], registers }),
    circuitState: new Gauge({ name: 'weft_circuit_state', help: 'Circuit breaker state per provider (0 closed, 1 half-open, 2 open)', labelNames: ['provider'], registers }),
    providerThrottledTotal: new Counter({ name: 'weft_provider_throttled_total', help: 'LLM calls held back by the fleet-wide provider rate limit, by provider and limit (second, minute, concurrent)', labelNames: ['provider', 'reason'], registers }),
    eventsPublishedTotal: new Counter({ name: 'weft_events_published_total', help: 'Events published, by type', labelNames: ['type'], registers }),
    eventRelayLag: new Histogram({ name: 'weft_event_relay_lag_seconds', help: 'Delay between an event being published and the api relaying it', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers }),
    eventSubscribers: new Gauge({ name: 'weft_event_subscribers', help: 'Live event subscribers by transport (ws, sse)', labelNames: ['transport'], registers }),
    httpRequestsTotal: new Counter({ name: 'weft_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers }),
    httpRequestDuration: new Histogram({ name: 'weft_http_request_duration_seconds', help: 'HTTP request duration by method and route', labelNames: ['method', 'route'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 120], registers }),
    flushBatchesTotal: new Counter({ name: 'weft_flush_batches_total', help: 'Batches flushed from hot state to Postgres, by result (ok, error)', labelNames: ['result'], registers }),
    flushRowsTotal: new Counter({ name: 'weft_flush_rows_total', help: 'Rows written to Postgres by the flusher, by kind (node_run, execution, execution_status)', labelNames: ['kind'], registers }),
    recoveredTotal: new Counter({ name: 'weft_recovered_total', help: 'Work the recovery sweep re-enqueued, by kind (queued_execution)', labelNames: ['kind'], registers }),
    mapItemsTotal: new Counter({ name: 'weft_map_items_total', help: 'Map items by event (expanded: listed when a map starts; completed, failed: the slots of a completed map)', labelNames: ['event'], registers }),
    expressionLimitHitsTotal: new Counter({ name: 'weft_expression_limit_hits_total', help: 'JSONata evaluations stopped by a bound, by bound (time, depth, size, memory)', labelNames: ['bound'], registers }),
    flushLag: new Histogram({ name: 'weft_flush_lag_seconds', help: 'Delay between a node commit and its row reaching Postgres', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600], registers }),
  };
}
