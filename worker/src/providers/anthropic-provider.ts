/**
 * LlmProvider over the official @anthropic-ai/sdk (the messages API).
 *
 * - System messages travel in the top-level `system` parameter (several are joined with a
 *   blank line, in order); the other turns keep their order.
 * - The API requires `max_tokens`: ANTHROPIC_DEFAULT_MAX_TOKENS (1024) when the node sets none,
 *   enough for the short answers flows usually ask for; a node expecting more sets `maxTokens`.
 * - JSON mode: the API has no switch for it, so ANTHROPIC_JSON_INSTRUCTION is appended to the
 *   system prompt (the node then parses the answer).
 * - `temperature` is not sent: the SDK's message parameters (1.12) no longer have it (its
 *   changelog mentions the deprecation), so a node's temperature has no effect on Anthropic.
 * - Usage, normalised like the other providers (see anthropicUsage).
 */
import Anthropic from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsBase, MessageDeltaUsage, MessageParam, RawMessageStreamEvent, Usage as WireUsage } from '@anthropic-ai/sdk/resources/messages';
import { WeftError } from '@weft/shared/errors';
import type { Usage } from '@weft/shared/model';
import type { LlmCredential, LlmProvider, LlmRequest, LlmResponse, LlmStreamPart } from '@weft/shared/ports';
import { cancellationError } from './cancellation.js';
import { classifyAnthropicError } from './classify-anthropic-error.js';
import type { ProviderFetch } from './egress-fetch.js';
import { DEFAULT_LLM_TIMEOUT_MS } from './llm-timeout.js';

export interface AnthropicProviderOptions {
  /** Time allowed until the response (or, streaming, its headers) arrives. */
  timeoutMs?: number;
  /** `max_tokens` when the request sets none. */
  defaultMaxTokens?: number;
  /** The fetch the SDK uses (the worker's egress-guarded one); the global fetch when absent. */
  fetch?: ProviderFetch;
}

export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;
export const ANTHROPIC_JSON_INSTRUCTION =
  'Respond with a single valid JSON object and nothing else: no text before or after it, no code fences.';

const NAME = 'anthropic';

type MessageParams = Omit<MessageCreateParamsBase, 'stream'>;
type WireUsageFields = Partial<Pick<WireUsage, 'input_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens' | 'output_tokens' | 'output_tokens_details'>>;

/**
 * Anthropic counts the prompt in three parts: `input_tokens` (after the last cache breakpoint),
 * `cache_read_input_tokens` and `cache_creation_input_tokens`. promptTokens is their sum, so it
 * means the whole prompt as it does for OpenAI and Gemini; cachedTokens is the cache reads
 * (billed at the cached price; cache writes stay at the input price, a slight under-estimate).
 * completionTokens is `output_tokens`, which includes thinking, as OpenAI's completion includes
 * reasoning; reasoningTokens is its thinking part. Missing counts are 0.
 */
export function anthropicUsage(usage: WireUsageFields | null | undefined): Usage {
  const cachedTokens = usage?.cache_read_input_tokens ?? 0;
  const promptTokens = (usage?.input_tokens ?? 0) + cachedTokens + (usage?.cache_creation_input_tokens ?? 0);
  const completionTokens = usage?.output_tokens ?? 0;
  return {
    promptTokens,
    completionTokens,
    reasoningTokens: usage?.output_tokens_details?.thinking_tokens ?? 0,
    cachedTokens,
    totalTokens: promptTokens + completionTokens,
  };
}

/** message_delta repeats only what changed: later non-null counts win over message_start's. */
function mergeUsage(base: WireUsageFields, delta: Partial<MessageDeltaUsage>): WireUsageFields {
  const merged: WireUsageFields = { ...base };
  if (typeof delta.input_tokens === 'number') merged.input_tokens = delta.input_tokens;
  if (typeof delta.cache_read_input_tokens === 'number') merged.cache_read_input_tokens = delta.cache_read_input_tokens;
  if (typeof delta.cache_creation_input_tokens === 'number') merged.cache_creation_input_tokens = delta.cache_creation_input_tokens;
  if (typeof delta.output_tokens === 'number') merged.output_tokens = delta.output_tokens;
  if (delta.output_tokens_details) merged.output_tokens_details = delta.output_tokens_details;
  return merged;
}

function refusal(): WeftError {
  return new WeftError('LLM_CONTENT_POLICY', `${NAME}: the model declined to answer (stop_reason refusal)`);
}

export function createAnthropicProvider(credential: LlmCredential, options: AnthropicProviderOptions = {}): LlmProvider {
  if (credential.apiKey === '') throw new WeftError('LLM_NO_CREDENTIALS', `${NAME}: the credential has no API key`);
  // Every option is explicit so ANTHROPIC_* environment variables cannot redirect a workspace's
  // calls: a null baseURL means the SDK's default host, not ANTHROPIC_BASE_URL.
  const client = new Anthropic({
    apiKey: credential.apiKey,
    baseURL: credential.baseUrl,
    webhookKey: null,
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
    logLevel: 'off',
    openTelemetry: false,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const defaultMaxTokens = options.defaultMaxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS;
  const classify = (err: unknown, signal: AbortSignal): WeftError => classifyAnthropicError(err, { provider: NAME, signal, secrets: [credential.apiKey] });
  const invalid = (message: string): WeftError => new WeftError('LLM_INVALID_RESPONSE', `${NAME}: ${message}`);

  function params(request: LlmRequest): MessageParams {
    const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content);
    if (request.responseFormat === 'json') system.push(ANTHROPIC_JSON_INSTRUCTION);
    const messages: MessageParam[] = [];
    for (const m of request.messages) {
      if (m.role !== 'system') messages.push({ role: m.role, content: m.content });
    }
    const body: MessageParams = { model: request.model, max_tokens: request.maxTokens ?? defaultMaxTokens, messages };
    if (system.length > 0) body.system = system.join('\n\n');
    return body;
  }

  function toResponse(message: Message | null | undefined): LlmResponse {
    // The SDK hands back whatever the server sent (null for an empty body, text for non-JSON).
    if (typeof message !== 'object' || message === null || !Array.isArray(message.content)) {
      throw invalid('response is not a message');
    }
    if (message.stop_reason === 'refusal') throw refusal();
    const text = message.content.map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : '')).join('');
    return { text, usage: anthropicUsage(message.usage), raw: message };
  }

  return {
    name: NAME,

    async complete(request, signal) {
      if (signal.aborted) throw cancellationError(signal, NAME);
      let message: Message;
      try {
        message = await client.messages.create({ ...params(request), stream: false }, { signal });
      } catch (err) {
        throw classify(err, signal);
      }
      return toResponse(message);
    },

    async *stream(request, signal): AsyncGenerator<LlmStreamPart> {
      if (signal.aborted) throw cancellationError(signal, NAME);
      let text = '';
      let usage: WireUsageFields | null = null;
      let stopReason: string | null = null;
      let stopped = false;
      try {
        const events = await client.messages.create({ ...params(request), stream: true }, { signal });
        for await (const event of events as AsyncIterable<RawMessageStreamEvent | null>) {
          if (typeof event !== 'object' || event === null) throw invalid('stream event is not a JSON object');
          switch (event.type) {
            case 'message_start':
              usage = { ...event.message.usage };
              break;
            case 'content_block_delta':
              if (event.delta.type === 'text_delta' && event.delta.text !== '') {
                text += event.delta.text;
                yield { type: 'delta', text: event.delta.text };
              }
              break;
            case 'message_delta':
              stopReason = event.delta.stop_reason ?? stopReason;
              usage = mergeUsage(usage ?? {}, event.usage);
              break;
            case 'message_stop':
              stopped = true;
              break;
            case 'content_block_start':
            case 'content_block_stop':
              break;
            default:
              // Event types newer than this adapter carry nothing it needs.
              break;
          }
        }
      } catch (err) {
        throw classify(err, signal);
      }
      // The SDK ends the iteration quietly when the request is aborted mid-stream.
      if (signal.aborted) throw cancellationError(signal, NAME);
      if (!stopped || usage === null) throw invalid('stream ended before message_stop');
      if (stopReason === 'refusal') throw refusal();
      yield { type: 'done', text, usage: anthropicUsage(usage) };
    },
  };
}
