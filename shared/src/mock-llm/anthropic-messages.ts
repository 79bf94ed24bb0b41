/**
 * Anthropic messages: `POST /v1/messages`, JSON or SSE with named events (`event: message_start`
 * … `event: message_stop`). The key comes as `x-api-key` (older SDKs, curl) or as
 * `authorization: Bearer` (recent SDKs).
 *
 * The system prompt travels apart from the turns (`system`); the mock puts it back in front as
 * a `system` message, so answers, hashes and usage are those of the same conversation sent to
 * any other protocol.
 *
 * JSON mode: the API has no switch for it, so the mock answers a JSON object (mockJsonAnswer)
 * when the system prompt or a user message mentions JSON (`asksForJson` in answer.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { asksForJson, type MockMessage } from './answer.js';
import { isRecord } from './is-record.js';
import type { MockError, MockErrorKind, MockProtocol, MockReply, ParsedPrompt } from './protocol.js';

const PATH = /^\/v1\/messages\/?$/;

const ERROR_TYPES: Record<MockErrorKind, string> = {
  unauthorized: 'authentication_error',
  'bad-request': 'invalid_request_error',
  'not-found': 'not_found_error',
  'rate-limited': 'rate_limit_error',
  'server-error': 'api_error',
};

/** A string, or an array of content blocks of which the text blocks count. */
function blocksText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  return content
    .map((block: unknown) => (isRecord(block) && block.type === 'text' && typeof block.text === 'string' ? block.text : ''))
    .join('');
}

function parseMessages(value: unknown): MockMessage[] | string {
  if (!Array.isArray(value) || value.length === 0) return 'messages: at least one message is required';
  const messages: MockMessage[] = [];
  for (const [i, m] of value.entries()) {
    if (!isRecord(m)) return `messages.${i}: Input should be a valid dictionary`;
    // The SDK's types allow `system` turns between the others, besides the top-level `system`.
    if (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system') {
      return `messages.${i}.role: Input should be 'user', 'assistant' or 'system'`;
    }
    const content = blocksText(m.content);
    if (content === null) return `messages.${i}.content: Input should be a valid string or list of content blocks`;
    messages.push({ role: m.role, content });
  }
  return messages;
}

function usageBody(reply: MockReply, outputTokens: number): Record<string, unknown> {
  return {
    input_tokens: reply.usage.promptTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const anthropicMessagesProtocol: MockProtocol = {
  provider: 'anthropic',

  match(method, pathname) {
    return method === 'POST' && PATH.test(pathname) ? { model: null, stream: null } : null;
  },

  apiKey(headers: IncomingHttpHeaders) {
    const key = headers['x-api-key'];
    if (typeof key === 'string' && key.trim() !== '') return key.trim();
    const auth = headers.authorization;
    const match = typeof auth === 'string' ? /^Bearer\s+(\S.*)$/i.exec(auth) : null;
    return match?.[1]?.trim() ?? null;
  },

  parse(body): ParsedPrompt {
    if (!isRecord(body)) return { ok: false, model: null, message: 'The request body must be a JSON object.' };
    const model = typeof body.model === 'string' && body.model !== '' ? body.model : null;
    if (model === null) return { ok: false, model, message: 'model: Field required' };
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
      return { ok: false, model, message: 'max_tokens: Field required (a positive integer)' };
    }
    const turns = parseMessages(body.messages);
    if (typeof turns === 'string') return { ok: false, model, message: turns };
    const system = body.system === undefined ? '' : blocksText(body.system);
    if (system === null) return { ok: false, model, message: 'system: Input should be a valid string or list of text blocks' };
    const messages = system === '' ? turns : [{ role: 'system', content: system }, ...turns];
    return { ok: true, prompt: { model, messages, stream: body.stream === true, json: asksForJson(messages), streamUsage: true } };
  },

  errorBody(error: MockError) {
    return { type: 'error', error: { type: ERROR_TYPES[error.kind], message: error.message }, request_id: 'req_mock' };
  },

  completionBody(reply) {
    return {
      id: `msg_${reply.id}`,
      type: 'message',
      role: 'assistant',
      model: reply.model,
      content: [{ type: 'text', text: reply.text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: usageBody(reply, reply.usage.completionTokens),
    };
  },

  streamFrames(reply) {
    const message = {
      id: `msg_${reply.id}`,
      type: 'message',
      role: 'assistant',
      model: reply.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // Anthropic reports a provisional output count up front; message_delta carries the final one.
      usage: usageBody(reply, 1),
    };
    const frames = [
      event('message_start', { type: 'message_start', message }),
      event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      event('ping', { type: 'ping' }),
    ];
    for (const text of reply.deltas) {
      frames.push(event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }));
    }
    frames.push(
      event('content_block_stop', { type: 'content_block_stop', index: 0 }),
      event('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: reply.usage.completionTokens },
      }),
      event('message_stop', { type: 'message_stop' }),
    );
    return frames;
  },

  malformedStreamFrame() {
    // Named, because the SDK skips events without a name before parsing their data.
    return 'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": \n\n';
  },
};
