import { WeftError } from '@weft/shared/errors';
import type { LlmCredential, LlmProvider } from '@weft/shared/ports';
import type { ProviderFetch } from './egress-fetch.js';
import { createAnthropicProvider } from './anthropic-provider.js';
import { createGeminiProvider } from './gemini-provider.js';
import { createOpenAiProvider } from './openai-provider.js';

type LlmProviderName = LlmProvider['name'];

/**
 * One factory per provider name; `satisfies` makes a new name in LLM_PROVIDERS a compile
 * error here until it has an adapter, and checks every adapter against LlmProvider.
 */
const providerFactories = {
  openai: (credential, options) => createOpenAiProvider(credential, { name: 'openai', ...options }),
  'openai-compatible': (credential, options) => createOpenAiProvider(credential, { name: 'openai-compatible', ...options }),
  anthropic: (credential, options) => createAnthropicProvider(credential, options),
  gemini: (credential, options) => createGeminiProvider(credential, options),
} satisfies Record<LlmProviderName, (credential: LlmCredential, options: AdapterOptions) => LlmProvider>;

/** What every adapter takes besides the credential. */
export interface AdapterOptions {
  /** The fetch the SDK sends with; the worker passes its egress-guarded one (ProviderEgress). */
  fetch?: ProviderFetch;
}

/**
 * The adapter for `name`, as it is: with no `fetch` it reaches whatever the base URL names.
 * The worker builds its providers through ProviderEgress, which passes the guarded fetch.
 */
export function createProvider(name: LlmProviderName, credential: LlmCredential, options: AdapterOptions = {}): LlmProvider {
  const factory = (providerFactories as Partial<Record<string, (c: LlmCredential, o: AdapterOptions) => LlmProvider>>)[name];
  if (!factory) throw new WeftError('LLM_UNKNOWN_PROVIDER', `unknown LLM provider "${name}"`);
  return factory(credential, options);
}

export { createOpenAiProvider, openAiUsage } from './openai-provider.js';
export { DEFAULT_LLM_TIMEOUT_MS } from './llm-timeout.js';
export type { OpenAiProviderName, OpenAiProviderOptions } from './openai-provider.js';
export { ANTHROPIC_DEFAULT_MAX_TOKENS, ANTHROPIC_JSON_INSTRUCTION, anthropicUsage, createAnthropicProvider } from './anthropic-provider.js';
export type { AnthropicProviderOptions } from './anthropic-provider.js';
export { createGeminiProvider, GEMINI_DEFAULT_API_VERSION, GEMINI_DEFAULT_BASE_URL, geminiUsage } from './gemini-provider.js';
export type { GeminiProviderOptions } from './gemini-provider.js';
export { classifyOpenAiError } from './classify-openai-error.js';
export type { ClassifyOpenAiErrorOptions } from './classify-openai-error.js';
export { classifyAnthropicError } from './classify-anthropic-error.js';
export type { ClassifyAnthropicErrorOptions } from './classify-anthropic-error.js';
export { classifyGeminiError } from './classify-gemini-error.js';
export type { ClassifyGeminiErrorOptions } from './classify-gemini-error.js';
export { classifyProviderError, codeForHttpStatus, redactSecrets } from './provider-error.js';
export type { ClassifyErrorOptions } from './provider-error.js';
export { parseRetryAfterMs } from './retry-after.js';
export { cancellationError } from './cancellation.js';
export { createEgressFetch, type EgressFetchOptions, type ProviderFetch } from './egress-fetch.js';
export { ProviderEgress, responseCapBytes, type ProviderEgressOptions, type ProviderFactory } from './provider-egress.js';
export { ProviderClients, type ProviderClientsOptions } from './provider-clients.js';
