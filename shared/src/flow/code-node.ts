import Type from 'typebox';
import type { ErrorDetail } from '../errors/weft-error.js';
import { nodeCommonProperties } from './node-common-schema.js';
import { NO_RETRY, type FlowLimits, type NodeTypeSpec } from './node-type-spec.js';
import { CODE_SOURCE_MAX_LENGTH } from './types.js';

/** The smallest heap QuickJS starts and runs a small function in. */
export const CODE_MIN_MEMORY_MB = 8;

export const CodeNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('code'),
    /** The body of `async ({input, nodes, item, index}) => { … }`: JavaScript, run in a QuickJS sandbox. */
    source: Type.String({ minLength: 1, maxLength: CODE_SOURCE_MAX_LENGTH }),
    /** The sandbox's heap in MB; default 64, at most the deployment's WEFT_CODE_MAX_MEMORY_MB. */
    memoryMb: Type.Optional(Type.Integer({ minimum: CODE_MIN_MEMORY_MB })),
  },
  { additionalProperties: false, title: 'CodeNode' },
);

/** The deployment's ceilings (FlowLimits): a flow cannot ask more than the workers will give. */
function checkCode(node: object, limits: Readonly<FlowLimits>): ErrorDetail[] {
  const n = node as { memoryMb?: unknown; timeoutMs?: unknown };
  const details: ErrorDetail[] = [];
  if (typeof n.memoryMb === 'number' && n.memoryMb > limits.codeMaxMemoryMb) {
    details.push({ path: '/memoryMb', code: 'FLOW_INVALID_NODE_CONFIG', message: `memoryMb must be at most ${limits.codeMaxMemoryMb} (WEFT_CODE_MAX_MEMORY_MB), not ${n.memoryMb}` });
  }
  if (typeof n.timeoutMs === 'number' && n.timeoutMs > limits.codeMaxTimeoutMs) {
    details.push({ path: '/timeoutMs', code: 'FLOW_INVALID_NODE_CONFIG', message: `a code node's timeoutMs must be at most ${limits.codeMaxTimeoutMs} (WEFT_CODE_MAX_TIMEOUT_MS), not ${n.timeoutMs}` });
  }
  return details;
}

export const codeNodeSpec: NodeTypeSpec = {
  // The same source over the same data gives the same answer (and hits the same limit).
  retry: NO_RETRY,
  schema: CodeNodeSchema,
  // The source is JavaScript, not a template: it reads `input` and `nodes` as values.
  templatedFields: () => [],
  check: checkCode,
  branching: false,
  allowsVaultRefs: false,
  // The sandbox stops the source at its deadline and says so (code_timeout).
  timesItself: true,
};
