import { WeftError } from '@weft/shared/errors';
import type { LlmCredential, LlmProvider, LlmProviderFactory } from '@weft/shared/ports';
import { createOpenAiProvider } from './openai-provider.js';

type LlmProviderName = LlmProvider['name'];

function notAvailableYet(name: LlmProviderName): LlmProviderFactory {
  return () => {
    throw new WeftError('LLM_UNKNOWN_PROVIDER', `${name}: provider not available yet`);
  };
}

/**
 * One factory per provider name; `satisfies` makes a new name in LLM_PROVIDERS a compile
 * error here until it has an adapter, and checks every adapter against LlmProvider.
 */
const providerFactories = {
  openai: (credential) => createOpenAiProvider(credential, { name: 'openai' }),
  'openai-compatible': (credential) => createOpenAiProvider(credential, { name: 'openai-compatible' }),
  anthropic: notAvailableYet('anthropic'),
  gemini: notAvailableYet('gemini'),
} satisfies Record<LlmProviderName, LlmProviderFactory>;

export function createProvider(name: LlmProviderName, credential: LlmCredential): LlmProvider {
  const factory: LlmProviderFactory | undefined = (providerFactories as Partial<Record<string, LlmProviderFactory>>)[name];
  if (!factory) throw new WeftError('LLM_UNKNOWN_PROVIDER', `unknown LLM provider "${name}"`);
  return factory(credential);
}

export { createOpenAiProvider, DEFAULT_LLM_TIMEOUT_MS, openAiUsage } from './openai-provider.js';
export type { OpenAiProviderName, OpenAiProviderOptions } from './openai-provider.js';
export { classifyOpenAiError } from './classify-openai-error.js';
export type { ClassifyOpenAiErrorOptions } from './classify-openai-error.js';
export { parseRetryAfterMs } from './retry-after.js';
export { cancellationError } from './cancellation.js';
