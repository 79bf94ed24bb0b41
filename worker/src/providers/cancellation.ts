import { WeftError } from '@weft/shared/errors';

/**
 * The error for a request stopped through its AbortSignal: the abort reason itself when the
 * engine aborted with a WeftError (e.g. NODE_TIMEOUT), otherwise NODE_CANCELLED.
 */
export function cancellationError(signal: AbortSignal, provider: string): WeftError {
  const reason: unknown = signal.reason;
  if (reason instanceof WeftError) return reason;
  return new WeftError('NODE_CANCELLED', `${provider}: request aborted`, { cause: reason });
}
