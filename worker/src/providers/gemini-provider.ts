/**
 * LlmProvider over the official @google/genai SDK (Gemini API, generateContent).
 *
 * - System messages become `systemInstruction` (several are joined with a blank line, in
 *   order); assistant turns are sent with Gemini's role `model`.
 * - JSON mode is native: `responseMimeType: application/json`.
 * - The SDK's own retries, automatic function calling and automatic continuation stay off: one
 *   call is one request, and Weft's retries own the rest.
 * - Its timeout (`httpOptions.timeout`) would also cut a long stream once the headers have
 *   arrived, so the adapter times the request itself, until the response (or, streaming, its
 *   headers) arrives, as the other adapters do.
 * - Usage, normalised like the other providers (see geminiUsage).
 */
import { GoogleGenAI, type Content, type GenerateContentConfig, type GenerateContentResponse, type GenerateContentResponseUsageMetadata } from '@google/genai';
import { WeftError } from '@weft/shared/errors';
import type { Usage } from '@weft/shared/model';
import type { LlmCredential, LlmProvider, LlmRequest, LlmResponse, LlmStreamPart } from '@weft/shared/ports';
import { cancellationError } from './cancellation.js';
import { classifyGeminiError } from './classify-gemini-error.js';
import type { ProviderFetch } from './egress-fetch.js';
import { DEFAULT_LLM_TIMEOUT_MS } from './llm-timeout.js';

export interface GeminiProviderOptions {
  /** Time allowed until the response (or, streaming, its headers) arrives. */
  timeoutMs?: number;
  /** API version in the path; `v1beta` reaches preview features. */
  apiVersion?: string;
  /** The fetch the SDK uses (the worker's egress-guarded one); the global fetch when absent. */
  fetch?: ProviderFetch;
}

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com/';
export const GEMINI_DEFAULT_API_VERSION = 'v1';

const NAME = 'gemini';
type GeminiUsageFields = Pick<GenerateContentResponseUsageMetadata, 'promptTokenCount' | 'candidatesTokenCount' | 'thoughtsTokenCount' | 'cachedContentTokenCount' | 'totalTokenCount'>;
/** Finish reasons that mean Google withheld (part of) the answer. */
const WITHHELD = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT']);

/**
 * promptTokens is `promptTokenCount`, which already includes cached content; cachedTokens is
 * `cachedContentTokenCount`. Gemini counts thinking apart from the answer
 * (`candidatesTokenCount` excludes `thoughtsTokenCount`) but bills both as output, so
 * completionTokens is their sum, as OpenAI's completion includes reasoning; reasoningTokens
 * is the thinking part. totalTokens is Gemini's own total (prompt + completion when absent).
 * Missing counts are 0.
 */
export function geminiUsage(usage: GeminiUsageFields | null | undefined): Usage {
  const promptTokens = usage?.promptTokenCount ?? 0;
  const reasoningTokens = usage?.thoughtsTokenCount ?? 0;
  const completionTokens = (usage?.candidatesTokenCount ?? 0) + reasoningTokens;
  return {
    promptTokens,
    completionTokens,
    reasoningTokens,
    cachedTokens: usage?.cachedContentTokenCount ?? 0,
    totalTokens: usage?.totalTokenCount ?? promptTokens + completionTokens,
  };
}

/** The answer's text parts, thoughts left out (the SDK's `text` getter would log about other parts). */
function answerText(response: GenerateContentResponse): string {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  return parts.map((part) => (typeof part.text === 'string' && part.thought !== true ? part.text : '')).join('');
}

function withheldError(response: GenerateContentResponse): WeftError | null {
  const blocked = response.promptFeedback?.blockReason;
  if (blocked) return new WeftError('LLM_CONTENT_POLICY', `${NAME}: the prompt was blocked (${blocked})`);
  const finish = response.candidates?.[0]?.finishReason;
  if (finish && WITHHELD.has(finish)) return new WeftError('LLM_CONTENT_POLICY', `${NAME}: the answer was withheld (${finish})`);
  return null;
}

interface RequestScope {
  /** Aborts on the caller's abort, on the timeout, and on `close`. */
  readonly signal: AbortSignal;
  timedOut(): boolean;
  /** The response has arrived: stop the timer. */
  disarm(): void;
  /** The caller is done (or gave up on a stream): drop the connection if it is still open. */
  close(): void;
}

function requestScope(signal: AbortSignal, timeoutMs: number): RequestScope {
  const timer = new AbortController();
  const closed = new AbortController();
  const handle = setTimeout(() => { timer.abort(); }, timeoutMs);
  return {
    signal: AbortSignal.any([signal, timer.signal, closed.signal]),
    timedOut: () => timer.signal.aborted && !signal.aborted,
    disarm: () => { clearTimeout(handle); },
    close: () => {
      clearTimeout(handle);
      closed.abort();
    },
  };
}

export function createGeminiProvider(credential: LlmCredential, options: GeminiProviderOptions = {}): LlmProvider {
  // An empty key would make the SDK fall back to GEMINI_API_KEY / GOOGLE_API_KEY.
  if (credential.apiKey === '') throw new WeftError('LLM_NO_CREDENTIALS', `${NAME}: the credential has no API key`);
  // Every option is explicit so the environment cannot redirect a workspace's calls:
  // `vertexai: false` beats GOOGLE_GENAI_USE_VERTEXAI / _ENTERPRISE, a base URL always set
  // beats GOOGLE_GEMINI_BASE_URL, an API version always set beats GOOGLE_GENAI_API_VERSION.
  const client = new GoogleGenAI({
    apiKey: credential.apiKey,
    vertexai: false,
    apiVersion: options.apiVersion ?? GEMINI_DEFAULT_API_VERSION,
    httpOptions: { baseUrl: credential.baseUrl ?? GEMINI_DEFAULT_BASE_URL, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) },
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS;
  const invalid = (message: string): WeftError => new WeftError('LLM_INVALID_RESPONSE', `${NAME}: ${message}`);
  const classify = (err: unknown, signal: AbortSignal, timedOut: boolean): WeftError =>
    timedOut && !(err instanceof WeftError)
      ? new WeftError('LLM_TIMEOUT', `${NAME}: no response within ${timeoutMs} ms`, { cause: err })
      : classifyGeminiError(err, { provider: NAME, signal, secrets: [credential.apiKey] });

  function params(request: LlmRequest, abortSignal: AbortSignal): { model: string; contents: Content[]; config: GenerateContentConfig } {
    const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const contents: Content[] = [];
    for (const m of request.messages) {
      if (m.role !== 'system') contents.push({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] });
    }
    const config: GenerateContentConfig = { abortSignal, automaticFunctionCalling: { disable: true }, automaticContinuation: false };
    if (system.length > 0) config.systemInstruction = { parts: [{ text: system.join('\n\n') }] };
    if (request.temperature !== undefined) config.temperature = request.temperature;
    if (request.maxTokens !== undefined) config.maxOutputTokens = request.maxTokens;
    if (request.responseFormat === 'json') config.responseMimeType = 'application/json';
    return { model: request.model, contents, config };
  }

  function toResponse(response: GenerateContentResponse | null | undefined): LlmResponse {
    // The SDK hands back whatever the server sent, wrapped; a body that is not an object has no candidates.
    if (typeof response !== 'object' || response === null) throw invalid('response is not a JSON object');
    const withheld = withheldError(response);
    if (withheld) throw withheld;
    if (!Array.isArray(response.candidates) || response.candidates.length === 0) throw invalid('response has no candidates');
    return { text: answerText(response), usage: geminiUsage(response.usageMetadata), raw: response };
  }

  return {
    name: NAME,

    async complete(request, signal) {
      if (signal.aborted) throw cancellationError(signal, NAME);
      const scope = requestScope(signal, timeoutMs);
      let response: GenerateContentResponse;
      try {
        response = await client.models.generateContent(params(request, scope.signal));
      } catch (err) {
        throw classify(err, signal, scope.timedOut());
      } finally {
        scope.close();
      }
      return toResponse(response);
    },

    async *stream(request, signal): AsyncGenerator<LlmStreamPart> {
      if (signal.aborted) throw cancellationError(signal, NAME);
      const scope = requestScope(signal, timeoutMs);
      let text = '';
      let usage: Usage | null = null;
      let finishReason: string | null = null;
      try {
        const chunks = await client.models.generateContentStream(params(request, scope.signal));
        scope.disarm();
        for await (const chunk of chunks as AsyncIterable<GenerateContentResponse | null>) {
          if (typeof chunk !== 'object' || chunk === null) throw invalid('stream chunk is not a JSON object');
          const withheld = withheldError(chunk);
          if (withheld) throw withheld;
          const delta = answerText(chunk);
          if (delta !== '') {
            text += delta;
            yield { type: 'delta', text: delta };
          }
          finishReason = chunk.candidates?.[0]?.finishReason ?? finishReason;
          // Every chunk may carry usage; the last one has the final counts.
          if (chunk.usageMetadata) usage = geminiUsage(chunk.usageMetadata);
        }
      } catch (err) {
        throw classify(err, signal, scope.timedOut());
      } finally {
        // Also runs when the consumer stops early: the SDK would otherwise leave the response open.
        scope.close();
      }
      if (signal.aborted) throw cancellationError(signal, NAME);
      if (finishReason === null) throw invalid('stream ended before the answer was complete');
      yield { type: 'done', text, usage: usage ?? geminiUsage(null) };
    },
  };
}
