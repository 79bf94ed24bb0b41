import { WeftError, type ErrorCategory, type ErrorCode } from '@weft/shared/errors';

/** What went wrong, stable and finer than the catalog code (several reasons share a code for now). */
export type HttpFailureReason =
  | 'invalid_url'
  | 'unsupported_protocol'
  | 'address_blocked'
  | 'invalid_request'
  | 'host_not_found'
  | 'connection_failed'
  | 'tls_failed'
  | 'invalid_response'
  | 'too_many_redirects'
  | 'response_too_large'
  | 'timeout'
  | 'cancelled';

interface Classification {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
}

/**
 * Closest codes of today's catalog. The HTTP_* codes proposed for it are noted beside each;
 * once they exist, only this table changes.
 */
const CLASSIFICATION: Record<HttpFailureReason, Classification> = {
  invalid_url: { code: 'HTTP_INVALID_URL', category: 'permanent' },
  unsupported_protocol: { code: 'HTTP_INVALID_URL', category: 'permanent' },
  address_blocked: { code: 'HTTP_ADDRESS_BLOCKED', category: 'permanent' },
  invalid_request: { code: 'HTTP_INVALID_REQUEST', category: 'permanent' },
  host_not_found: { code: 'HTTP_HOST_NOT_FOUND', category: 'transient' },
  connection_failed: { code: 'HTTP_CONNECTION', category: 'transient' },
  tls_failed: { code: 'HTTP_TLS', category: 'permanent' },
  invalid_response: { code: 'HTTP_INVALID_RESPONSE', category: 'transient' },
  too_many_redirects: { code: 'HTTP_TOO_MANY_REDIRECTS', category: 'permanent' },
  response_too_large: { code: 'HTTP_RESPONSE_TOO_LARGE', category: 'permanent' },
  timeout: { code: 'HTTP_TIMEOUT', category: 'transient' },
  cancelled: { code: 'NODE_CANCELLED', category: 'permanent' },
};

export interface HttpClientErrorOptions {
  readonly cause?: unknown;
  /** The refused address or host name, for `address_blocked`. */
  readonly target?: string;
}

export class HttpClientError extends WeftError {
  readonly reason: HttpFailureReason;
  readonly target: string | undefined;

  constructor(reason: HttpFailureReason, message: string, options: HttpClientErrorOptions = {}) {
    const { code, category } = CLASSIFICATION[reason];
    super(code, message, { category, cause: options.cause });
    this.name = 'HttpClientError';
    this.reason = reason;
    this.target = options.target;
  }
}

const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

const REQUEST_CODES: ReadonlySet<string> = new Set([
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_INVALID_CHAR',
  'ERR_UNESCAPED_CHARACTERS',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_HTTP_INVALID_HEADER_VALUE',
]);

function reasonFor(code: string): HttpFailureReason {
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_NODATA') return 'host_not_found';
  if (CONNECTION_CODES.has(code)) return 'connection_failed';
  if (REQUEST_CODES.has(code)) return 'invalid_request';
  if (code.startsWith('HPE_') || code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') return 'invalid_response';
  if (code.includes('CERT') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'tls_failed';
  return 'connection_failed';
}

/**
 * Classifies what node:http, node:net, node:tls or node:zlib threw. `origin` names the target
 * in the message; the full URL is left out because query strings often carry secrets.
 */
export function toHttpClientError(err: unknown, origin: string): HttpClientError {
  if (err instanceof HttpClientError) return err;
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  const detail = err instanceof Error ? err.message : String(err);
  const reason = typeof code === 'string' ? reasonFor(code) : 'connection_failed';
  return new HttpClientError(reason, `request to ${origin} failed: ${detail}`, { cause: err });
}

/** The error an aborted signal carries; our own deadline signal always carries an HttpClientError. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new HttpClientError('cancelled', 'request cancelled', { cause: reason });
}
