import { toWeftError, type ErrorCode } from '@weft/shared/errors';

const HEALTH_FAILURE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'LLM_SERVER_ERROR', 'LLM_TIMEOUT', 'LLM_CONNECTION', 'LLM_INVALID_RESPONSE', 'NODE_TIMEOUT',
]);

/**
 * Whether a failed provider call says something about the provider's health, and so counts
 * toward opening its circuit: 5xx, timeouts, dropped connections, malformed answers and 429s.
 * A request the provider rightly refused (400, 401, 404, content policy, an exhausted quota)
 * or a call the engine cancelled says nothing about the provider: it never opens the circuit.
 *
 * `signal` is the call's: the engine's node timeout aborts it, and the adapters then report a
 * cancellation — but a provider too slow for the node's timeout is a slow provider.
 */
export function isProviderHealthFailure(err: unknown, signal?: AbortSignal): boolean {
  const error = toWeftError(err);
  if (HEALTH_FAILURE_CODES.has(error.code)) return true;
  // insufficient_quota is a 429 classified permanent: the account, not the provider, is the problem.
  if (error.code === 'LLM_RATE_LIMITED') return error.category !== 'permanent';
  if (error.code === 'NODE_CANCELLED') return isTimeoutReason(signal?.reason);
  return false;
}

function isTimeoutReason(reason: unknown): boolean {
  if (reason instanceof Error && reason.name === 'TimeoutError') return true;
  return typeof reason === 'object' && reason !== null && (reason as { code?: unknown }).code === 'NODE_TIMEOUT';
}
