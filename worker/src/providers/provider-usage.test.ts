import { describe, expect, it } from 'vitest';
import { anthropicUsage } from './anthropic-provider.js';
import { geminiUsage } from './gemini-provider.js';
import { openAiUsage } from './openai-provider.js';

describe('usage normalisation: the same meaning for every provider', () => {
  it('anthropic: the prompt is input + cache reads + cache writes; cached is the reads; completion includes thinking', () => {
    expect(anthropicUsage({
      input_tokens: 100,
      cache_read_input_tokens: 400,
      cache_creation_input_tokens: 50,
      output_tokens: 300,
      output_tokens_details: { thinking_tokens: 120 },
    })).toEqual({ promptTokens: 550, completionTokens: 300, reasoningTokens: 120, cachedTokens: 400, totalTokens: 850 });
    expect(anthropicUsage({ input_tokens: 7, output_tokens: 3, cache_read_input_tokens: null, cache_creation_input_tokens: null, output_tokens_details: null }))
      .toEqual({ promptTokens: 7, completionTokens: 3, reasoningTokens: 0, cachedTokens: 0, totalTokens: 10 });
    expect(anthropicUsage(null)).toEqual({ promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 });
  });

  it('gemini: completion is candidates + thoughts, reasoning the thoughts, cached the cached content; total is Gemini\'s', () => {
    expect(geminiUsage({ promptTokenCount: 1000, cachedContentTokenCount: 400, candidatesTokenCount: 300, thoughtsTokenCount: 200, totalTokenCount: 1500 }))
      .toEqual({ promptTokens: 1000, completionTokens: 500, reasoningTokens: 200, cachedTokens: 400, totalTokens: 1500 });
    // Gemini leaves zero counts out.
    expect(geminiUsage({ promptTokenCount: 12, candidatesTokenCount: 5 })).toEqual({ promptTokens: 12, completionTokens: 5, reasoningTokens: 0, cachedTokens: 0, totalTokens: 17 });
    expect(geminiUsage(undefined)).toEqual({ promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 });
  });

  it('agrees with OpenAI on the same call: completion includes reasoning, prompt includes cached', () => {
    const openai = openAiUsage({
      prompt_tokens: 1000,
      completion_tokens: 500,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 400 },
      completion_tokens_details: { reasoning_tokens: 200 },
    });
    const gemini = geminiUsage({ promptTokenCount: 1000, cachedContentTokenCount: 400, candidatesTokenCount: 300, thoughtsTokenCount: 200, totalTokenCount: 1500 });
    const anthropic = anthropicUsage({ input_tokens: 600, cache_read_input_tokens: 400, cache_creation_input_tokens: 0, output_tokens: 500, output_tokens_details: { thinking_tokens: 200 } });
    expect(gemini).toEqual(openai);
    expect(anthropic).toEqual(openai);
  });
});
