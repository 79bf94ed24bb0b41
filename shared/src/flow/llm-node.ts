import Type from 'typebox';
import type { ErrorDetail } from '../errors/weft-error.js';
import { nodeCommonProperties } from './node-common-schema.js';
import type { NodeTypeSpec, TemplatedField } from './node-type-spec.js';
import { LLM_PROVIDERS } from './types.js';

export const ChatMessageSchema = Type.Object(
  {
    role: Type.Enum(['system', 'user', 'assistant']),
    content: Type.String(),
  },
  { additionalProperties: false, title: 'ChatMessage' },
);

/** `prompt` and `messages` are both optional here; exactly one is required (llmNodeSpec.check). */
export const LlmNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('llm'),
    provider: Type.Enum(LLM_PROVIDERS),
    model: Type.String({ minLength: 1 }),
    system: Type.Optional(Type.String()),
    prompt: Type.Optional(Type.String()),
    messages: Type.Optional(Type.Array(ChatMessageSchema, { minItems: 1 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    maxTokens: Type.Optional(Type.Integer({ minimum: 1 })),
    stream: Type.Optional(Type.Boolean()),
    responseFormat: Type.Optional(Type.Enum(['text', 'json'])),
  },
  { additionalProperties: false, title: 'LlmNode' },
);

function llmTemplatedFields(node: object): TemplatedField[] {
  const n = node as Record<string, unknown>;
  const fields: TemplatedField[] = [];
  if (typeof n.system === 'string') fields.push({ pointer: '/system', text: n.system });
  if (typeof n.prompt === 'string') fields.push({ pointer: '/prompt', text: n.prompt });
  if (Array.isArray(n.messages)) {
    n.messages.forEach((message: unknown, i) => {
      if (typeof message === 'object' && message !== null) {
        const content = (message as Record<string, unknown>).content;
        if (typeof content === 'string') fields.push({ pointer: `/messages/${i}/content`, text: content });
      }
    });
  }
  return fields;
}

function llmCheck(node: object): ErrorDetail[] {
  const hasPrompt = Object.hasOwn(node, 'prompt');
  const hasMessages = Object.hasOwn(node, 'messages');
  if (hasPrompt && hasMessages) {
    return [{ path: '/messages', message: 'set either prompt or messages, not both', code: 'FLOW_INVALID_NODE_CONFIG' }];
  }
  if (!hasPrompt && !hasMessages) {
    return [{ path: '', message: 'an llm node needs prompt or messages', code: 'FLOW_INVALID_NODE_CONFIG' }];
  }
  return [];
}

export const llmNodeSpec: NodeTypeSpec = {
  // Provider calls fail transiently (429, 5xx, resets): retried by default.
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000 } },
  schema: LlmNodeSchema,
  templatedFields: llmTemplatedFields,
  check: llmCheck,
  branching: false,
  allowsVaultRefs: false,
};
