/**
 * What one wire protocol (OpenAI chat completions, Anthropic messages, Gemini generateContent)
 * contributes to the mock: routing, credential extraction, request parsing and response
 * encoding. Everything else — recording, faults, delays, answers, usage — is protocol-neutral
 * and lives in the server, so a new protocol is one sibling file added to `protocols.ts`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { MockMessage, MockUsage } from './answer.js';

export type MockProvider = 'openai' | 'anthropic' | 'gemini';

/** What the URL alone says (Gemini puts the model and streaming in the path). */
export interface RouteMatch {
  model: string | null;
  stream: boolean | null;
}

export interface MockPrompt {
  model: string;
  messages: MockMessage[];
  stream: boolean;
  /** The caller asked for a JSON object answer. */
  json: boolean;
  /** Whether a stream ends with usage (OpenAI only sends it when `stream_options.include_usage`). */
  streamUsage: boolean;
}

export type ParsedPrompt = { ok: true; prompt: MockPrompt } | { ok: false; model: string | null; message: string };

export interface MockReply {
  /** Protocol-neutral (`mock<hash>`); each protocol adds its own prefix. */
  id: string;
  model: string;
  /** Unix seconds. */
  created: number;
  text: string;
  /** Non-empty pieces whose concatenation is exactly `text`. */
  deltas: string[];
  usage: MockUsage;
  streamUsage: boolean;
}

export type MockErrorKind = 'unauthorized' | 'bad-request' | 'not-found' | 'rate-limited' | 'server-error';

export const MOCK_ERROR_STATUS: Record<MockErrorKind, number> = {
  unauthorized: 401,
  'bad-request': 400,
  'not-found': 404,
  'rate-limited': 429,
  'server-error': 500,
};

export interface MockError {
  kind: MockErrorKind;
  message: string;
  /** Rate limits: how long the client should wait (sent as `Retry-After`, and in the body where the protocol has a field for it). */
  retryAfterSeconds?: number;
}

export interface MockProtocol {
  readonly provider: MockProvider;
  match(method: string, pathname: string): RouteMatch | null;
  /** The credential the request carries in this protocol's header, or null. */
  apiKey(headers: IncomingHttpHeaders): string | null;
  parse(body: unknown, route: RouteMatch): ParsedPrompt;
  errorBody(error: MockError): unknown;
  completionBody(reply: MockReply): unknown;
  /** Complete SSE frames in order, terminator included. */
  streamFrames(reply: MockReply): string[];
  /** One SSE frame whose data is not valid JSON. */
  malformedStreamFrame(): string;
}
