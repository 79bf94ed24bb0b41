import { errorCatalog, isErrorCode, storedCode, type ErrorCategory, type ErrorCode } from '../model/error-codes.js';
import type { NodeError, NodeLogEntry } from '../model/node-result.js';
import { isDependencyFailure } from './dependency-failure.js';
import type { Spend } from '../model/usage.js';

export interface ErrorDetail {
  /** JSON pointer into the offending document, e.g. `/nodes/1/prompt`. */
  path: string;
  message: string;
  code?: ErrorCode;
}

export interface WeftErrorOptions {
  details?: ErrorDetail[];
  cause?: unknown;
  /** Overrides the catalog's category (e.g. a 5xx classified as dependency). */
  category?: ErrorCategory;
  /** Honoured by retries and by 429/503 answers (`Retry-After`). */
  retryAfterMs?: number;
  /** What the provider billed for the failed attempt (e.g. an answer that was not JSON). */
  billed?: Spend;
  /** What the failed node wrote before it failed (a code node's console): kept on its run. */
  logs?: NodeLogEntry[];
}

export class WeftError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly httpStatus: number;
  readonly details: ErrorDetail[] | undefined;
  readonly retryAfterMs: number | undefined;
  readonly billed: Spend | undefined;
  readonly logs: NodeLogEntry[] | undefined;

  constructor(code: ErrorCode, message: string, options: WeftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WeftError';
    this.code = code;
    const entry = errorCatalog[code];
    this.category = options.category ?? entry.category;
    this.httpStatus = entry.httpStatus;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
    this.billed = options.billed;
    this.logs = options.logs;
  }

  get retryable(): boolean {
    return this.category !== 'permanent';
  }
}

/**
 * Turns anything thrown into a WeftError: unreachable dependencies become DEPENDENCY_UNAVAILABLE
 * (category dependency), other unknown errors transient INTERNAL_ERROR.
 */
export function toWeftError(err: unknown): WeftError {
  if (err instanceof WeftError) return err;
  if (isDependencyFailure(err)) {
    return new WeftError('DEPENDENCY_UNAVAILABLE', err instanceof Error ? err.message : 'a dependency is unavailable', { cause: err });
  }
  if (err instanceof Error) {
    const maybeCode = (err as { code?: unknown }).code;
    if (typeof maybeCode === 'string' && isErrorCode(maybeCode)) {
      return new WeftError(maybeCode, err.message, { cause: err });
    }
    if (err.name === 'AbortError') return new WeftError('NODE_CANCELLED', err.message || 'aborted', { cause: err });
    return new WeftError('INTERNAL_ERROR', err.message, { cause: err });
  }
  return new WeftError('INTERNAL_ERROR', typeof err === 'string' ? err : 'unknown error', { cause: err });
}

/**
 * The error as it is stored and sent (node results, events, dead letters): the one place a
 * catalog code is lowercased. Anything thrown is classified by toWeftError first.
 */
export function toNodeError(err: unknown): NodeError {
  const e = toWeftError(err);
  return { code: storedCode(e.code), category: e.category, message: e.message };
}

export function isRetryable(err: unknown): boolean {
  return toWeftError(err).retryable;
}
