/**
 * LlmProvider over the official openai SDK: OpenAI itself and any server speaking its chat
 * completions protocol (vLLM, Ollama, LM Studio…) through a base URL.
 */
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { WeftError } from '@weft/shared/errors';
import type { Usage } from '@weft/shared/model';
import type { LlmCredential, LlmProvider, LlmRequest, LlmResponse, LlmStreamPart } from '@weft/shared/ports';
import { cancellationError } from './cancellation.js';
import { classifyOpenAiError } from './classify-openai-error.js';
import type { ProviderFetch } from './egress-fetch.js';
import { DEFAULT_LLM_TIMEOUT_MS } from './llm-timeout.js';

export type OpenAiProviderName = 'openai' | 'openai-compatible';

export interface OpenAiProviderOptions {
  name?: OpenAiProviderName;
  /** Time allowed until the response (or, streaming, its headers) arrives. */
  timeoutMs?: number;
  /** The fetch the SDK uses (the worker's egress-guarded one); the global fetch when absent. */
  fetch?: ProviderFetch;
}

export { DEFAULT_LLM_TIMEOUT_MS };
/** Local OpenAI-compatible servers often need no key, but the SDK refuses an empty one. */
const NO_KEY_PLACEHOLDER = 'none';

type ChatParams = Omit<ChatCompletionCreateParamsBase, 'stream' | 'stream_options'>;

/** Missing details count as 0; a missing total is the sum. */
export function openAiUsage(usage: CompletionUsage | null | undefined): Usage {
  const promptTokens = usage?.prompt_tokens ?? 0;
  const completionTokens = usage?.completion_tokens ?? 0;
  return {
    promptTokens,
    completionTokens,
    reasoningTokens: usage?.completion_tokens_details?.reasoning_tokens ?? 0,
    cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    totalTokens: usage?.total_tokens ?? promptTokens + completionTokens,
  };
}

export function createOpenAiProvider(credential: LlmCredential, options: OpenAiProviderOptions = {}): LlmProvider {
  const name = options.name ?? 'openai';
  if (credential.apiKey === '' && name === 'openai') {
    throw new WeftError('LLM_NO_CREDENTIALS', 'openai: the credential has no API key');
  }
  // Every option is explicit so OPENAI_* environment variables cannot redirect a workspace's calls.
  const client = new OpenAI({
    apiKey: credential.apiKey === '' ? NO_KEY_PLACEHOLDER : credential.apiKey,
    baseURL: credential.baseUrl,
    organization: null,
    project: null,
    webhookSecret: null,
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
    logLevel: 'off',
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const classify = (err: unknown, signal: AbortSignal): WeftError =>
    classifyOpenAiError(err, { provider: name, signal, secrets: [credential.apiKey] });
  const invalid = (message: string): WeftError => new WeftError('LLM_INVALID_RESPONSE', `${name}: ${message}`);

  function params(request: LlmRequest): ChatParams {
    const body: ChatParams = {
      model: request.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    };
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.maxTokens !== undefined) {
      // OpenAI deprecated max_tokens (reasoning models reject it); compatible servers mostly know only it.
      if (name === 'openai') body.max_completion_tokens = request.maxTokens;
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated by OpenAI only
      else body.max_tokens = request.maxTokens;
    }
    if (request.responseFormat === 'json') body.response_format = { type: 'json_object' };
    return body;
  }

  function toResponse(completion: ChatCompletion | null | undefined): LlmResponse {
    // The SDK hands back whatever the server sent (null for an empty body, text for non-JSON).
    if (typeof completion !== 'object' || completion === null) throw invalid('response is not a JSON object');
    const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
    if (choice === undefined || typeof choice.message !== 'object' || choice.message === null) {
      throw invalid('response has no choices');
    }
    if (typeof choice.message.refusal === 'string' && choice.message.refusal !== '') {
      throw new WeftError('LLM_CONTENT_POLICY', `${name}: the model refused: ${choice.message.refusal.slice(0, 200)}`);
    }
    if (choice.finish_reason === 'content_filter') {
      throw new WeftError('LLM_CONTENT_POLICY', `${name}: the answer was withheld by the content filter`);
    }
    const text = choice.message.content ?? '';
    if (typeof text !== 'string') throw invalid('message content is not text');
    return { text, usage: openAiUsage(completion.usage), raw: completion };
  }

  return {
    name,

    async complete(request, signal) {
      if (signal.aborted) throw cancellationError(signal, name);
      let completion: ChatCompletion;
      try {
        completion = await client.chat.completions.create({ ...params(request), stream: false }, { signal });
      } catch (err) {
        throw classify(err, signal);
      }
      return toResponse(completion);
    },

    async *stream(request, signal): AsyncGenerator<LlmStreamPart> {
      if (signal.aborted) throw cancellationError(signal, name);
      let text = '';
      let usage: Usage | null = null;
      let finishReason: string | null = null;
      try {
        const chunks = await client.chat.completions.create(
          { ...params(request), stream: true, stream_options: { include_usage: true } },
          { signal },
        );
        for await (const chunk of chunks as AsyncIterable<ChatCompletionChunk | null>) {
          if (typeof chunk !== 'object' || chunk === null) throw invalid('stream chunk is not a JSON object');
          const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
          const delta = choice?.delta?.content;
          if (typeof delta === 'string' && delta !== '') {
            text += delta;
            yield { type: 'delta', text: delta };
          }
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          if (chunk.usage) usage = openAiUsage(chunk.usage);
        }
      } catch (err) {
        throw classify(err, signal);
      }
      // The SDK ends the iteration quietly when the request is aborted mid-stream.
      if (signal.aborted) throw cancellationError(signal, name);
      if (finishReason === null && usage === null) throw invalid('stream ended before the answer was complete');
      if (finishReason === 'content_filter') {
        throw new WeftError('LLM_CONTENT_POLICY', `${name}: the answer was withheld by the content filter`);
      }
      // Servers that ignore stream_options send no usage; zeros rather than a guess.
      yield { type: 'done', text, usage: usage ?? openAiUsage(null) };
    },
  };
}
