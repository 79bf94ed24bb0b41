import Type from 'typebox';
import { NODE_ID_PATTERN } from './types.js';

/** Fields every node type accepts (architecture.md: retry, timeoutMs, onError). */
export const BackoffPolicySchema = Type.Object(
  {
    type: Type.Enum(['fixed', 'exponential']),
    delayMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
  },
  { additionalProperties: false, title: 'BackoffPolicy' },
);

export const RetryPolicySchema = Type.Object(
  {
    attempts: Type.Integer({ minimum: 1, maximum: 20 }),
    backoff: Type.Optional(BackoffPolicySchema),
  },
  { additionalProperties: false, title: 'RetryPolicy' },
);

export const NODE_TIMEOUT_MAX_MS = 86_400_000;

/**
 * Spread into every node schema. `id` and `type` are checked by validateFlow itself (with their
 * own error codes); the pattern is kept here for OpenAPI.
 */
export const nodeCommonProperties = {
  id: Type.String({ pattern: NODE_ID_PATTERN.source }),
  retry: Type.Optional(RetryPolicySchema),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: NODE_TIMEOUT_MAX_MS })),
  onError: Type.Optional(Type.Enum(['fail', 'continue'])),
};
