/** OpenAI chat completions: `POST /v1/chat/completions`, JSON or SSE (`data: {...}` … `data: [DONE]`). */
import type { IncomingHttpHeaders } from 'node:http';
import type { MockMessage } from './answer.js';
import { isRecord } from './is-record.js';
import type { MockError, MockErrorKind, MockProtocol, MockReply, ParsedPrompt } from './protocol.js';

const PATH = /^(?:\/v1)?\/chat\/completions\/?$/;

const ERROR_SHAPES: Record<MockErrorKind, { type: string; code: string | null }> = {
  unauthorized: { type: 'invalid_request_error', code: 'invalid_api_key' },
  'bad-request': { type: 'invalid_request_error', code: null },
  'not-found': { type: 'invalid_request_error', code: 'model_not_found' },
  'rate-limited': { type: 'requests', code: 'rate_limit_exceeded' },
  'server-error': { type: 'server_error', code: null },
};

/** Content is a string, or an array of parts of which the text parts count. */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) return null;
  return content
    .map((part: unknown) => (isRecord(part) && part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

function parseMessages(value: unknown): MockMessage[] | string {
  if (!Array.isArray(value) || value.length === 0) return "'messages' must be a non-empty array.";
  const messages: MockMessage[] = [];
  for (const [i, m] of value.entries()) {
    if (!isRecord(m) || typeof m.role !== 'string') return `Invalid value for 'messages[${i}].role'.`;
    const content = contentText(m.content);
    if (content === null) return `Invalid type for 'messages[${i}].content'.`;
    messages.push({ role: m.role, content });
  }
  return messages;
}

function usageBody(reply: MockReply): Record<string, unknown> {
  return {
    prompt_tokens: reply.usage.promptTokens,
    completion_tokens: reply.usage.completionTokens,
    total_tokens: reply.usage.totalTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function frame(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export const openAiChatProtocol: MockProtocol = {
  provider: 'openai',

  match(method, pathname) {
    return method === 'POST' && PATH.test(pathname) ? { model: null, stream: null } : null;
  },

  apiKey(headers: IncomingHttpHeaders) {
    const auth = headers.authorization;
    const match = typeof auth === 'string' ? /^Bearer\s+(\S.*)$/i.exec(auth) : null;
    return match?.[1]?.trim() ?? null;
  },

  parse(body): ParsedPrompt {
    if (!isRecord(body)) return { ok: false, model: null, message: 'The request body must be a JSON object.' };
    const model = typeof body.model === 'string' && body.model !== '' ? body.model : null;
    if (model === null) return { ok: false, model, message: "You must provide a model parameter." };
    const messages = parseMessages(body.messages);
    if (typeof messages === 'string') return { ok: false, model, message: messages };
    const format = isRecord(body.response_format) ? body.response_format.type : undefined;
    const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
    return {
      ok: true,
      prompt: {
        model,
        messages,
        stream: body.stream === true,
        json: format === 'json_object' || format === 'json_schema',
        streamUsage: streamOptions.include_usage === true,
      },
    };
  },

  errorBody(error: MockError) {
    const shape = ERROR_SHAPES[error.kind];
    return { error: { message: error.message, type: shape.type, param: null, code: shape.code } };
  },

  completionBody(reply) {
    return {
      id: `chatcmpl-${reply.id}`,
      object: 'chat.completion',
      created: reply.created,
      model: reply.model,
      system_fingerprint: 'fp_mock',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.text, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: usageBody(reply),
    };
  },

  streamFrames(reply) {
    const base = { id: `chatcmpl-${reply.id}`, object: 'chat.completion.chunk', created: reply.created, model: reply.model, system_fingerprint: 'fp_mock' };
    // With include_usage every chunk carries `usage: null` until the last one, as OpenAI does.
    const usageNull = reply.streamUsage ? { usage: null } : {};
    const chunk = (delta: Record<string, unknown>, finishReason: string | null): string =>
      frame({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...usageNull });
    const frames = [chunk({ role: 'assistant', content: '', refusal: null }, null)];
    for (const text of reply.deltas) frames.push(chunk({ content: text }, null));
    frames.push(chunk({}, 'stop'));
    if (reply.streamUsage) frames.push(frame({ ...base, choices: [], usage: usageBody(reply) }));
    frames.push('data: [DONE]\n\n');
    return frames;
  },

  malformedStreamFrame() {
    return 'data: {"id": "chatcmpl-mock", "choices": [{"delta": {"content": \n\n';
  },
};
