import { computeCost, modelLabel } from '@weft/shared/engine';
import { type Cost, type Usage } from '@weft/shared/model';
import { WeftError } from '@weft/shared/errors';
import type { ChatMessage, LlmNode } from '@weft/shared/flow';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { LlmRequest } from '@weft/shared/ports';
import { renderTemplate } from '@weft/shared/templates';
import { isProviderGuardRefusal, llmLeaseMs, type ProviderGuard } from '../providers/guard/index.js';
import { redactError, SecretRedactor } from './redact-secrets.js';
import type { PriceSource, ProviderClientSource } from './sources.js';
import type { NodeExecutor, NodeRunContext } from '@weft/shared/ports';

export interface LlmNodeDeps {
  /**
   * The provider client for the workspace, built with its credential (else, with
   * WEFT_ALLOW_ENV_KEYS, the environment's key) and sending through its egress policy: the
   * credential's baseUrl gets the same wall as an http node's URL (ProviderClients).
   */
  clients: ProviderClientSource;
  prices: PriceSource;
  metrics: WeftMetrics;
  /** The output caps; LLM_DEFAULT_LIMITS (the settings' defaults) when absent. */
  llmLimits?: LlmLimits;
  /** The (workspace, provider) circuit breaker and fleet rate limit every provider call goes through. */
  guard: ProviderGuard;
  /** The deployment's own secrets (master key, admin token, environment keys): never in an error, even in pieces. */
  deploymentSecrets?: readonly string[];
  /** Longest error message (WEFT_NODE_ERROR_MAX_CHARS); default MAX_NODE_ERROR_MESSAGE_CHARS. */
  nodeErrorMaxChars?: number;
}

export interface LlmLimits {
  /** WEFT_LLM_MAX_OUTPUT_BYTES: UTF-8 bytes of answer text; past it the attempt fails LLM_OUTPUT_TOO_LARGE. */
  maxOutputBytes: number;
  /** WEFT_LLM_DEFAULT_MAX_TOKENS: `maxTokens` sent when the node sets none. */
  defaultMaxTokens: number;
}

/** The defaults of WEFT_LLM_MAX_OUTPUT_BYTES and WEFT_LLM_DEFAULT_MAX_TOKENS. */
export const LLM_DEFAULT_LIMITS: LlmLimits = { maxOutputBytes: 1_048_576, defaultMaxTokens: 4096 };

/** Reasons of `weft_llm_egress_refused_total`, by the code of the error. */
const EGRESS_REASONS: Partial<Record<string, 'address_blocked' | 'output_too_large'>> = {
  LLM_ADDRESS_BLOCKED: 'address_blocked',
  LLM_OUTPUT_TOO_LARGE: 'output_too_large',
};

function outputTooLarge(node: LlmNode, maxOutputBytes: number): WeftError {
  return new WeftError('LLM_OUTPUT_TOO_LARGE', `node '${node.id}': the answer is longer than ${maxOutputBytes} bytes (WEFT_LLM_MAX_OUTPUT_BYTES)`);
}

function buildMessages(ctx: NodeRunContext<LlmNode>): ChatMessage[] {
  const render = (text: string): string => renderTemplate(text, { input: ctx.input, results: ctx.results, ...(ctx.scope ? { scope: ctx.scope } : {}) });
  const { node } = ctx;
  const messages: ChatMessage[] = [];
  if (node.system !== undefined) messages.push({ role: 'system', content: render(node.system) });
  if (node.prompt !== undefined) messages.push({ role: 'user', content: render(node.prompt) });
  for (const m of node.messages ?? []) messages.push({ role: m.role, content: render(m.content) });
  return messages;
}

export function createLlmNodeExecutor(deps: LlmNodeDeps): NodeExecutor<LlmNode> {
  // Keyed by provider and bounded: a flow naming endless models cannot grow it, nor the log.
  const warnedUnpriced = new Set<string>();

  return async (ctx) => {
    const { node } = ctx;
    // Templates first: an unresolvable reference must fail before any tokens are spent.
    const messages = buildMessages(ctx);
    // Every read happens before the provider call: a failure after the tokens are spent
    // would re-run the node and pay twice.
    const [client, quote] = await Promise.all([deps.clients.client(ctx.workspaceId, node.provider), deps.prices.quote(ctx.workspaceId, node.provider, node.model)]);
    if (!client) {
      throw new WeftError('LLM_NO_CREDENTIALS', `workspace has no credentials for provider '${node.provider}' (PUT /v1/credentials/${node.provider})`);
    }
    if (client.source === 'environment') {
      ctx.logger.info({ provider: node.provider }, 'workspace has no credential: using the key from the environment (WEFT_ALLOW_ENV_KEYS)');
    }
    const { provider, credential: effective } = client;
    // The operator's name for the model (its price row) or `other`: never the flow's string.
    const labels = { provider: node.provider, model: modelLabel(quote) };
    if (quote.pricing === 'unpriced' && ctx.maxCostUsd !== undefined) {
      // The start admitted it (the workspace had a fallback price then, or the table a row),
      // but nothing prices it now: under a budget it would run unmetered, so it does not run.
      deps.metrics.llmUnpricedRefusedTotal.inc({ provider: node.provider });
      ctx.logger.warn({ provider: node.provider, model: node.model, maxCostUsd: ctx.maxCostUsd }, 'model has no price under a budget: node not started');
      throw new WeftError('BUDGET_UNPRICED_MODEL', `node '${node.id}': ${node.provider} model '${node.model}' has no price, and the execution has a maxCostUsd budget`);
    }
    const limits = deps.llmLimits ?? LLM_DEFAULT_LIMITS;
    const { maxOutputBytes } = limits;
    // Every call names a ceiling, so no answer is unbounded by default.
    const request: LlmRequest = { model: node.model, messages, maxTokens: node.maxTokens ?? limits.defaultMaxTokens };
    if (node.temperature !== undefined) request.temperature = node.temperature;
    if (node.responseFormat !== undefined) request.responseFormat = node.responseFormat;

    const guarded = { workspaceId: ctx.workspaceId, provider: node.provider, leaseMs: llmLeaseMs(node.timeoutMs), signal: ctx.signal };
    const started = performance.now();
    let text: string;
    let usage: Usage;
    try {
      // Streaming is the default: clients see tokens as they come (node.token events).
      if (node.stream !== false) {
        // The whole stream holds the slot: acquired before it starts, released after it ends.
        ({ text, usage } = await deps.guard.call(guarded, async () => {
          let done: { text: string; usage: Usage } | null = null;
          let bytes = 0;
          for await (const part of provider.stream(request, ctx.signal)) {
            if (part.type === 'delta') {
              bytes += Buffer.byteLength(part.text);
              // Leaving the loop closes the stream, and with it the connection: nothing more is read.
              if (bytes > maxOutputBytes) throw outputTooLarge(node, maxOutputBytes);
              ctx.emitToken(part.text);
            } else {
              done = { text: part.text, usage: part.usage };
            }
          }
          if (!done) throw new WeftError('LLM_INVALID_RESPONSE', 'stream ended without a final message');
          return done;
        }));
      } else {
        ({ text, usage } = await deps.guard.call(guarded, () => provider.complete(request, ctx.signal)));
      }
      if (Buffer.byteLength(text) > maxOutputBytes) throw outputTooLarge(node, maxOutputBytes);
      deps.metrics.llmRequestDuration.observe({ ...labels, result: 'ok' }, (performance.now() - started) / 1000);
    } catch (err) {
      // A refusal by the guard never reached the provider: no request to time.
      if (!isProviderGuardRefusal(err)) deps.metrics.llmRequestDuration.observe({ ...labels, result: 'error' }, (performance.now() - started) / 1000);
      // The adapters redact their key; whatever else reached the error (the deployment's
      // secrets, a WeftError passed through untouched, an overlong body) is caught here, before
      // the message is logged, stored or published.
      const redactor = new SecretRedactor([effective.apiKey, ...(deps.deploymentSecrets ?? [])], { minLength: 4 });
      const safe = redactError(err, redactor, { keepUnchanged: true, ...(deps.nodeErrorMaxChars === undefined ? {} : { maxChars: deps.nodeErrorMaxChars }) });
      // The adapter marks what it redacted itself with `[redacted]`.
      if (redactor.hits > 0 || safe.message.includes('[redacted]')) {
        deps.metrics.secretRedactionsTotal.inc({ node_type: 'llm', part: 'error' });
        ctx.logger.warn({ provider: node.provider, code: safe.code }, 'secret redacted from the provider error');
      }
      const reason = EGRESS_REASONS[safe.code];
      if (reason !== undefined) {
        deps.metrics.llmEgressRefusedTotal.inc({ provider: node.provider, reason });
        // The message names the refused address or the cap, never the key or the answer.
        ctx.logger.info({ provider: node.provider, reason, code: safe.code, detail: safe.message, maxOutputBytes }, 'llm call stopped at the egress wall');
      }
      throw safe;
    }

    const kinds = { prompt: usage.promptTokens, completion: usage.completionTokens, reasoning: usage.reasoningTokens, cached: usage.cachedTokens };
    for (const [kind, tokens] of Object.entries(kinds)) {
      deps.metrics.llmTokensTotal.inc({ ...labels, kind }, tokens);
      if (quote.pricing !== 'priced') deps.metrics.llmUnpricedTokensTotal.inc({ provider: node.provider, pricing: quote.pricing, kind }, tokens);
    }

    let cost: Cost | null = null;
    if (quote.prices) {
      cost = computeCost(usage, quote.prices);
      deps.metrics.llmCostUsdTotal.inc(labels, cost.totalCost);
    }
    if (quote.pricing !== 'priced') {
      // Every unpriced call is counted (weft_llm_unpriced_tokens_total); the log says it once
      // per provider and pricing on this worker, naming the model it first saw.
      const seen = `${node.provider}/${quote.pricing}`;
      const log = { provider: node.provider, model: node.model, pricing: quote.pricing, nodeId: node.id, tokens: usage.totalTokens };
      if (!warnedUnpriced.has(seen)) {
        warnedUnpriced.add(seen);
        if (quote.pricing === 'unpriced') ctx.logger.warn(log, 'model has no price: its cost is recorded as null and marked unpriced (PUT /v1/models, or a workspace fallbackPrice)');
        else ctx.logger.info(log, 'model has no price: its cost uses the workspace fallback price');
      } else {
        ctx.logger.debug(log, 'unpriced model call');
      }
    }
    const pricing = { pricing: quote.pricing, pricedAs: quote.pricedAs };

    let output: unknown = text;
    if (node.responseFormat === 'json') {
      try {
        output = JSON.parse(text);
      } catch (err) {
        // The provider billed these tokens: they count even though the attempt failed.
        throw new WeftError('LLM_INVALID_RESPONSE', `node '${node.id}' asked for JSON but the answer is not valid JSON`, { cause: err, billed: { usage, cost, pricing: quote.pricing } });
      }
    }
    return { output, resolvedInput: { messages }, usage, cost, ...pricing, provider: node.provider, model: node.model };
  };
}
