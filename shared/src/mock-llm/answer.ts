/**
 * The mock's deterministic "model": every answer and token count is a pure function of the
 * request, so tests can compute the expected text and usage without running the server.
 */
import { createHash } from 'node:crypto';

/** A chat message as the mock sees it once a protocol has flattened it to text. */
export interface MockMessage {
  role: string;
  content: string;
}

export interface MockUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

const EXCERPT_MAX_CHARS = 40;
const TOKEN_PATTERN = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

/** Words (letters, digits, underscore) count one token each, every other non-space character one. */
export function countTokens(text: string): number {
  return text.match(TOKEN_PATTERN)?.length ?? 0;
}

/** First 8 hex digits of the sha-256 of every message (role and content), in order. */
export function promptHash(messages: readonly MockMessage[]): string {
  const hash = createHash('sha256');
  for (const m of messages) hash.update(JSON.stringify([m.role, m.content])).update('\n');
  return hash.digest('hex').slice(0, 8);
}

/**
 * `[model] re: <excerpt> #<hash>` (`[model] re: #<hash>` when the excerpt is empty). The excerpt is the start of the last user message with
 * whitespace collapsed, at most 40 characters and at most half the message, so an answer
 * never contains the whole prompt (a downstream prompt that embeds it stays checkable and
 * answers do not grow along a chain); the hash makes distinct conversations answer differently.
 */
export function mockAnswer(model: string, messages: readonly MockMessage[]): string {
  const lastUser = messages.findLast((m) => m.role === 'user') ?? messages.at(-1);
  const flat = (lastUser?.content ?? '').replace(/\s+/g, ' ').trim();
  const excerptLength = Math.min(EXCERPT_MAX_CHARS, Math.floor(flat.length / 2));
  const excerpt = flat.slice(0, excerptLength).trimEnd();
  return `[${model}] re: ${excerpt === '' ? '' : `${excerpt} `}#${promptHash(messages)}`;
}

/** The JSON-mode answer: a JSON object whose `answer` is the text answer. */
export function mockJsonAnswer(model: string, messages: readonly MockMessage[]): string {
  return JSON.stringify({ answer: mockAnswer(model, messages), model });
}

const JSON_WORD = /\bjson\b/i;

/**
 * How the mock decides, for protocols without a JSON switch (Anthropic messages), that the
 * caller wants a JSON answer: the system prompt or a user message contains the word "JSON"
 * (any case). Assistant turns do not count, so an earlier answer cannot flip the mode.
 */
export function asksForJson(messages: readonly MockMessage[]): boolean {
  return messages.some((m) => (m.role === 'system' || m.role === 'user') && JSON_WORD.test(m.content));
}

/** prompt = sum of countTokens over message contents, completion = countTokens(answer). */
export function mockUsage(messages: readonly MockMessage[], answer: string): MockUsage {
  const promptTokens = messages.reduce((sum, m) => sum + countTokens(m.content), 0);
  const completionTokens = countTokens(answer);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

/** Splits text word by word (each piece keeps its trailing whitespace); the pieces join back exactly. */
export function splitDeltas(text: string): string[] {
  if (text === '') return [];
  return text.split(/(?<=\s)(?=\S)/);
}

/** Size of each delta of a `mock-huge-<n>` stream. */
export const HUGE_DELTA_BYTES = 16 * 1024;
const FILLER = ' lorem ipsum dolor sit amet';

/**
 * The `mock-huge-<n>` answer: `answer` padded with filler words (or cut) to exactly `bytes`
 * bytes of ASCII, in deltas of HUGE_DELTA_BYTES, and a token count of `ceil(bytes / 4)` (counting
 * tens of millions of words would make the mock the slow part).
 */
export function hugeAnswer(answer: string, bytes: number): { text: string; deltas: string[]; completionTokens: number } {
  const ascii = answer.replace(/[^\x20-\x7e]/g, '?');
  const text = ascii.length >= bytes ? ascii.slice(0, bytes) : (ascii + FILLER.repeat(Math.ceil((bytes - ascii.length) / FILLER.length))).slice(0, bytes);
  const deltas: string[] = [];
  for (let i = 0; i < text.length; i += HUGE_DELTA_BYTES) deltas.push(text.slice(i, i + HUGE_DELTA_BYTES));
  return { text, deltas, completionTokens: Math.ceil(bytes / 4) };
}
