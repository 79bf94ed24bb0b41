import type { ChatMessage, LlmProviderName } from '../flow/types.js';
import type { Usage } from '../model/index.js';

export interface LlmRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  responseFormat?: 'text' | 'json';
}

export interface LlmResponse {
  text: string;
  usage: Usage;
  /** Provider's raw response (non-streaming) or final chunk, for debugging; never logged at info. */
  raw: unknown;
}

export type LlmStreamPart = { type: 'delta'; text: string } | { type: 'done'; text: string; usage: Usage };

export interface LlmCredential {
  apiKey: string;
  baseUrl: string | null;
}

/**
 * One adapter per SDK. Errors thrown are WeftErrors classified by the adapter
 * (LLM_RATE_LIMITED with retryAfterMs, LLM_SERVER_ERROR, LLM_BAD_REQUEST, …).
 */
export interface LlmProvider {
  readonly name: LlmProviderName;
  complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse>;
  stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmStreamPart>;
}

export type LlmProviderFactory = (credential: LlmCredential) => LlmProvider;
