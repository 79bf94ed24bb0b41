import Type from 'typebox';
import { stringLeaves } from '../templates/json-leaves.js';
import { SECRET_NAME_PATTERN } from '../templates/types.js';
import { nodeCommonProperties } from './node-common-schema.js';
import type { NodeTypeSpec } from './node-type-spec.js';
import { TASK_HANDLER_PATTERN, TASK_MAX_SECRETS } from './types.js';

export const TaskNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('task'),
    /** The handler name external workers claim it by, e.g. `image.resize`. */
    handler: Type.String({ pattern: TASK_HANDLER_PATTERN.source }),
    /** Any JSON; its string leaves are templates (a leaf that is exactly one `{{ref}}` keeps the value's type). */
    input: Type.Optional(Type.Unknown()),
    /** A lease not extended by a heartbeat within this lapses and the task is queued again; default 60 s. */
    heartbeatTimeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
    /** The only workspace secrets the handler receives, by name. */
    secrets: Type.Optional(Type.Array(Type.String({ pattern: SECRET_NAME_PATTERN.source }), { maxItems: TASK_MAX_SECRETS, uniqueItems: true })),
    /** A routing label (priority class or region) a worker may claim by. */
    queue: Type.Optional(Type.String({ pattern: TASK_HANDLER_PATTERN.source })),
  },
  { additionalProperties: false },
);

export const taskNodeSpec: NodeTypeSpec = {
  // A retryable failure reported by a worker goes through the node's retry policy; none by default.
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000 } },
  schema: TaskNodeSchema,
  templatedFields: (node) => {
    const input = (node as { input?: unknown }).input;
    return stringLeaves(input).map((leaf) => ({ pointer: `/input${leaf.pointer}`, text: leaf.text }));
  },
  branching: false,
  // Secrets reach the handler by name (`secrets`), never through the stored input.
  allowsVaultRefs: false,
};
