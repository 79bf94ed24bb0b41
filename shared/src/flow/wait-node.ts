import Type from 'typebox';
import { nodeCommonProperties } from './node-common-schema.js';
import { NO_RETRY, type NodeTypeSpec } from './node-type-spec.js';
import type { ErrorDetail } from '../errors/weft-error.js';

export const WaitNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('wait'),
    durationMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 * 86_400_000 })),
    until: Type.Optional(Type.String({ minLength: 1 })),
    event: Type.Optional(Type.Union([Type.Literal('approval'), Type.Literal('webhook')])),
  },
  { additionalProperties: false, title: 'WaitNode' },
);

/** Exactly one of durationMs, until, event; `until` must be an ISO time. */
function checkWait(node: object): ErrorDetail[] {
  const n = node as { durationMs?: unknown; until?: unknown; event?: unknown };
  const given = ['durationMs', 'until', 'event'].filter((k) => n[k as keyof typeof n] !== undefined);
  if (given.length !== 1) {
    return [{ path: '', code: 'FLOW_INVALID_NODE_CONFIG', message: 'a wait node needs exactly one of durationMs, until or event' }];
  }
  if (typeof n.until === 'string' && Number.isNaN(Date.parse(n.until))) {
    return [{ path: '/until', code: 'FLOW_INVALID_NODE_CONFIG', message: 'until must be an ISO 8601 time' }];
  }
  return [];
}

export const waitNodeSpec: NodeTypeSpec = {
  // Waiting is not work that fails transiently: the engine suspends the node.
  retry: NO_RETRY,
  schema: WaitNodeSchema,
  templatedFields: () => [],
  check: checkWait,
  branching: false,
  allowsVaultRefs: false,
};
