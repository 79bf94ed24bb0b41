/**
 * Gemini generateContent: `POST /v1/models/{model}:generateContent` (JSON) and
 * `…:streamGenerateContent?alt=sse` (SSE, `data: {...}` chunks, no terminator: the last chunk
 * carries `finishReason` and the final usage). `/v1beta` and `/v1alpha` are accepted too.
 * The model and streaming come from the path, the key from `x-goog-api-key`.
 *
 * `systemInstruction` becomes a leading `system` message and `model` turns `assistant` ones,
 * so answers are those of the same conversation sent to any other protocol. JSON mode is
 * `generationConfig.responseMimeType: application/json` (or a response schema).
 *
 * Errors use Google's shape `{error: {code, message, status, details}}`; a rate limit carries a
 * `google.rpc.RetryInfo` detail (`retryDelay: "1s"`) besides `Retry-After`, as the SDK
 * exposes no response headers on its errors.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { MockMessage } from './answer.js';
import { isRecord } from './is-record.js';
import { MOCK_ERROR_STATUS, type MockError, type MockErrorKind, type MockProtocol, type MockReply, type ParsedPrompt } from './protocol.js';

const PATH = /^\/(?:v1|v1beta|v1alpha)\/models\/(.+):(generateContent|streamGenerateContent)$/;

const STATUS_NAMES: Record<MockErrorKind, string> = {
  unauthorized: 'UNAUTHENTICATED',
  'bad-request': 'INVALID_ARGUMENT',
  'not-found': 'NOT_FOUND',
  'rate-limited': 'RESOURCE_EXHAUSTED',
  'server-error': 'INTERNAL',
};

function decodeModel(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The text parts of a Content (`{role?, parts: [{text}, …]}`) joined, or null when it is not one. */
function contentText(content: unknown): string | null {
  if (!isRecord(content) || !Array.isArray(content.parts)) return null;
  return content.parts.map((part: unknown) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

function parseContents(value: unknown): MockMessage[] | string {
  if (!Array.isArray(value) || value.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  const messages: MockMessage[] = [];
  for (const [i, content] of value.entries()) {
    const role = isRecord(content) ? (content.role ?? 'user') : undefined;
    if (role !== 'user' && role !== 'model') return `* GenerateContentRequest.contents[${i}].role: Please use a valid role: user, model.`;
    const text = contentText(content);
    if (text === null) return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`;
    messages.push({ role: role === 'model' ? 'assistant' : 'user', content: text });
  }
  return messages;
}

function usageMetadata(reply: MockReply, final: boolean): Record<string, unknown> {
  const prompt = reply.usage.promptTokens;
  const promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
  // Chunks before the last one carry the prompt count only, as Gemini's do.
  if (!final) return { promptTokenCount: prompt, totalTokenCount: prompt, promptTokensDetails };
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: reply.usage.completionTokens,
    thoughtsTokenCount: 0,
    cachedContentTokenCount: 0,
    totalTokenCount: reply.usage.totalTokens,
    promptTokensDetails,
  };
}

function chunk(reply: MockReply, args: { text: string; final: boolean }): Record<string, unknown> {
  return {
    candidates: [
      {
        content: { parts: [{ text: args.text }], role: 'model' },
        ...(args.final ? { finishReason: 'STOP' } : {}),
        index: 0,
      },
    ],
    usageMetadata: usageMetadata(reply, args.final),
    modelVersion: reply.model,
    responseId: reply.id,
  };
}

function errorDetails(error: MockError): unknown[] | undefined {
  if (error.retryAfterSeconds !== undefined) {
    return [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${error.retryAfterSeconds}s` }];
  }
  if (error.kind === 'unauthorized') {
    return [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }];
  }
  return undefined;
}

export const geminiGenerateContentProtocol: MockProtocol = {
  provider: 'gemini',

  match(method, pathname) {
    const match = method === 'POST' ? PATH.exec(pathname) : null;
    if (!match) return null;
    return { model: decodeModel(match[1] ?? ''), stream: match[2] === 'streamGenerateContent' };
  },

  apiKey(headers: IncomingHttpHeaders) {
    const key = headers['x-goog-api-key'];
    return typeof key === 'string' && key.trim() !== '' ? key.trim() : null;
  },

  parse(body, route): ParsedPrompt {
    const model = route.model;
    if (model === null || model === '') return { ok: false, model: null, message: '* GenerateContentRequest.model: model is not specified' };
    if (!isRecord(body)) return { ok: false, model, message: 'Invalid JSON payload received. Expected an object.' };
    const turns = parseContents(body.contents);
    if (typeof turns === 'string') return { ok: false, model, message: turns };
    let system = '';
    if (body.systemInstruction !== undefined) {
      const text = contentText(body.systemInstruction);
      if (text === null) return { ok: false, model, message: '* GenerateContentRequest.system_instruction: parts must not be empty.' };
      system = text;
    }
    const config = isRecord(body.generationConfig) ? body.generationConfig : {};
    const json = config.responseMimeType === 'application/json' || config.responseSchema !== undefined || config.responseJsonSchema !== undefined;
    const messages = system === '' ? turns : [{ role: 'system', content: system }, ...turns];
    return { ok: true, prompt: { model, messages, stream: route.stream === true, json, streamUsage: true } };
  },

  errorBody(error: MockError) {
    const details = errorDetails(error);
    return {
      error: { code: MOCK_ERROR_STATUS[error.kind], message: error.message, status: STATUS_NAMES[error.kind], ...(details ? { details } : {}) },
    };
  },

  completionBody(reply) {
    return chunk(reply, { text: reply.text, final: true });
  },

  streamFrames(reply) {
    const texts = reply.deltas.length > 0 ? reply.deltas : [''];
    return texts.map((text, i) => `data: ${JSON.stringify(chunk(reply, { text, final: i === texts.length - 1 }))}\r\n\r\n`);
  },

  malformedStreamFrame() {
    return 'data: {"candidates": [{"content": {"parts": [{"text": \r\n\r\n';
  },
};
