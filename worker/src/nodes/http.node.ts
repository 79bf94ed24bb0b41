import type { LookupFunction } from 'node:net';
import { WeftError } from '@weft/shared/errors';
import type { HttpNode } from '@weft/shared/flow';
import type { Logger } from '@weft/shared/logging';
import type { WeftMetrics } from '@weft/shared/metrics';
import { HttpClientError, safeFetch, type HttpFailureReason, type SafeFetchResponse } from '../http-client/index.js';
import { parseRetryAfterMs } from '../providers/retry-after.js';
import { redactError, SecretRedactor } from './redact-secrets.js';
import { encodeHttpBody, httpNodeSecretNames, placeholderVault, renderHttpRequest } from './render-http-request.js';
import type { EgressPolicySource, SecretSource } from './sources.js';
import type { NodeExecutor } from '@weft/shared/ports';

export interface HttpNodeDeps {
  secrets: SecretSource;
  egress: EgressPolicySource;
  metrics: WeftMetrics;
  /** Resolver for host names, `dns.lookup` by default; tests inject one. Its answers are always checked. */
  httpLookup?: LookupFunction;
  /** The deployment's own secrets (master key, admin token, environment keys): redacted like the node's. */
  deploymentSecrets?: readonly string[];
  /** Longest error message (WEFT_NODE_ERROR_MAX_CHARS); default MAX_NODE_ERROR_MESSAGE_CHARS. */
  nodeErrorMaxChars?: number;
  /** Request deadline for nodes that set no `timeoutMs`. Default 30 s. */
  httpDefaultTimeoutMs?: number;
  /** WEFT_HTTP_MAX_RESPONSE_BYTES: cap on a decoded response body (HTTP_RESPONSE_TOO_LARGE past it). Default 10 MiB. */
  httpMaxResponseBytes?: number;
}

export const HTTP_DEFAULT_TIMEOUT_MS = 30_000;

/** A server asking for a longer wait gets this: a job must not be parked for days by one header. */
export const HTTP_MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Label values of `weft_http_node_requests_total`. */
export type HttpNodeOutcome =
  | 'ok'
  | 'client_error'
  | 'rate_limited'
  | 'server_error'
  | 'unexpected_status'
  | 'refused'
  | 'invalid'
  | 'timeout'
  | 'connection_error'
  | 'response_too_large'
  | 'cancelled';

function outcomeOfFailure(reason: HttpFailureReason): HttpNodeOutcome {
  switch (reason) {
    case 'address_blocked':
    case 'unsupported_protocol':
      return 'refused';
    case 'invalid_url':
    case 'invalid_request':
      return 'invalid';
    case 'timeout':
      return 'timeout';
    case 'cancelled':
      return 'cancelled';
    case 'response_too_large':
      return 'response_too_large';
    case 'host_not_found':
    case 'connection_failed':
    case 'tls_failed':
    case 'invalid_response':
    case 'too_many_redirects':
      return 'connection_error';
  }
}

function outcomeOfStatus(status: number): HttpNodeOutcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429) return 'rate_limited';
  if (status >= 500 && status < 600) return 'server_error';
  if (status >= 400 && status < 500) return 'client_error';
  return 'unexpected_status';
}

/** `scheme://host[:port]` of a URL, for messages and logs: never a path or a query string. */
function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'an invalid URL';
  }
}

function snippet(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const trimmed = text.trim();
  if (trimmed === '') return '';
  return `: ${trimmed.length > 200 ? `${trimmed.slice(0, 200)}…` : trimmed}`;
}

/**
 * The error for a non-2xx answer: 429 and 5xx are transient (retried under the node's policy,
 * after `Retry-After` when given), every other status permanent. The message names the status
 * and the origin, never the path or query (they may carry secrets) and never a secret value.
 */
export function httpStatusError(input: { node: HttpNode; response: SafeFetchResponse; redactor: SecretRedactor }): WeftError {
  const { node, response, redactor } = input;
  const { status } = response;
  const message = redactor.text(`node '${node.id}': ${node.method} ${originOf(response.url)} answered ${status}${snippet(response.body)}`);
  const headers = { get: (name: string): string | null => response.headers[name] ?? null };
  const retryAfter = parseRetryAfterMs(headers);
  const retryAfterMs = retryAfter === undefined ? undefined : Math.min(retryAfter, HTTP_MAX_RETRY_AFTER_MS);
  const retry = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status === 429) return new WeftError('HTTP_RATE_LIMITED', message, retry);
  // DEPENDENCY_UNAVAILABLE would re-delay without spending an attempt: a failing target is
  // the node's business, so its attempts count (as for connection failures).
  if (status >= 500 && status < 600) return new WeftError('HTTP_SERVER_ERROR', message, retry);
  return new WeftError('HTTP_CLIENT_ERROR', message);
}

/** A secret (usually echoed by the target) was redacted from the node's result: the operator should know. */
function noteEcho(input: { deps: HttpNodeDeps; log: Logger; part: 'error' | 'output'; origin: string; hits: number }): void {
  input.deps.metrics.secretRedactionsTotal.inc({ node_type: 'http', part: input.part });
  input.log.warn({ part: input.part, origin: input.origin, redactions: input.hits }, 'secret redacted from the http node result');
}

function logFailure(input: { log: Logger; err: HttpClientError; origin: string; redactor: SecretRedactor }): void {
  const { log, err, origin, redactor } = input;
  const fields = { origin: redactor.text(origin), reason: err.reason, ...(err.target === undefined ? {} : { target: redactor.text(err.target) }) };
  if (err.reason === 'address_blocked' || err.reason === 'unsupported_protocol') log.info(fields, 'http node request refused');
  else if (err.reason === 'response_too_large') log.info(fields, 'http node response over WEFT_HTTP_MAX_RESPONSE_BYTES: stopped');
  else log.debug(fields, 'http node request failed');
}

/**
 * Sends the node's request through safeFetch (http and https only; internal addresses refused,
 * judged at connect time and on every redirect, unless the workspace allows private networks;
 * cloud metadata always refused). `{{vault.NAME}}` values go into the request and nowhere else:
 * the stored input shows `[secret]`, and secret values in the answer and in error messages are
 * redacted, whole, encoded or in pieces of 8+ characters (an echoing server would otherwise
 * store them). Error messages are capped (MAX_NODE_ERROR_MESSAGE_CHARS).
 */
export function createHttpNodeExecutor(deps: HttpNodeDeps): NodeExecutor<HttpNode> {
  return async (ctx) => {
    const { node } = ctx;
    const names = httpNodeSecretNames(node);
    const base = { input: ctx.input, results: ctx.results, ...(ctx.scope ? { scope: ctx.scope } : {}) };
    // The stored copy first: an unresolvable reference fails before any read or request.
    const record = renderHttpRequest(node, { ...base, vault: placeholderVault(names) });
    const [egress, secrets] = await Promise.all([
      deps.egress.egressPolicy(ctx.workspaceId),
      names.length === 0 ? Promise.resolve<Record<string, string>>({}) : deps.secrets.secrets(ctx.workspaceId, names),
    ]);
    const redactor = new SecretRedactor([...Object.values(secrets), ...(deps.deploymentSecrets ?? [])]);
    const origin = originOf(record.url);
    try {
      const request = renderHttpRequest(node, { ...base, vault: secrets });
      const { headers, body } = encodeHttpBody(request);
      const started = performance.now();
      let response: SafeFetchResponse;
      try {
        response = await safeFetch({
          method: request.method,
          url: request.url,
          headers,
          ...(body === undefined ? {} : { body }),
          timeoutMs: node.timeoutMs ?? deps.httpDefaultTimeoutMs ?? HTTP_DEFAULT_TIMEOUT_MS,
          signal: ctx.signal,
          allowPrivateNetworks: egress.allowPrivateNetworks,
          ...(deps.httpMaxResponseBytes === undefined ? {} : { maxResponseBytes: deps.httpMaxResponseBytes }),
          ...(deps.httpLookup === undefined ? {} : { lookup: deps.httpLookup }),
        });
      } catch (err) {
        if (err instanceof HttpClientError) {
          deps.metrics.httpNodeRequestsTotal.inc({ outcome: outcomeOfFailure(err.reason) });
          logFailure({ log: ctx.logger, err, origin, redactor });
        }
        throw err;
      }
      const outcome = outcomeOfStatus(response.status);
      deps.metrics.httpNodeRequestsTotal.inc({ outcome });
      ctx.logger.debug(
        { method: request.method, origin: redactor.text(originOf(response.url)), status: response.status, durationMs: Math.round(performance.now() - started) },
        'http node answered',
      );
      if (outcome !== 'ok') throw httpStatusError({ node, response, redactor });
      const output = redactor.value({ status: response.status, headers: response.headers, body: response.body });
      if (redactor.hits > 0) noteEcho({ deps, log: ctx.logger, part: 'output', origin, hits: redactor.hits });
      return { output, resolvedInput: redactor.value(record), usage: null, cost: null, provider: null, model: null };
    } catch (err) {
      const safe = redactError(err, redactor, deps.nodeErrorMaxChars === undefined ? {} : { maxChars: deps.nodeErrorMaxChars });
      // Counted since the start: the status error's message was redacted when it was built.
      if (redactor.hits > 0) noteEcho({ deps, log: ctx.logger, part: 'error', origin, hits: redactor.hits });
      throw safe;
    }
  };
}
