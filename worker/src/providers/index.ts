import { WeftError } from '@weft/shared/errors';
import type { LlmCredential, LlmProvider, LlmProviderFactory } from '@weft/shared/ports';
import { createAnthropicProvider } from './anthropic-provider.js';
import { createGeminiProvider } from './gemini-provider.js';
import { createOpenAiProvider } from './openai-provider.js';

type LlmProviderName = LlmProvider['name'];

/**
 * One factory per provider name; `satisfies` makes a new name in LLM_PROVIDERS a compile
 * error here until it has an adapter, and checks every adapter against LlmProvider.
 */
const providerFactories = {
  openai: (credential) => createOpenAiProvider(credential, { name: 'openai' }),
  'openai-compatible': (credential) => createOpenAiProvider(credential, { name: 'openai-compatible' }),
  anthropic: (credential) => createAnthropicProvider(credential),
  gemini: (credential) => createGeminiProvider(credential),
} satisfies Record<LlmProviderName, LlmProviderFactory>;

export function createProvider(name: LlmProviderName, credential: LlmCredential): LlmProvider {
  const factory: LlmProviderFactory | undefined = (providerFactories as Partial<Record<string, LlmProviderFactory>>)[name];
  if (!factory) throw new WeftError('LLM_UNKNOWN_PROVIDER', `unknown LLM provider "${name}"`);
  return factory(credential);
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
