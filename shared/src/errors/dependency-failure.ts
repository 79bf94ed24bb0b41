/**
 * Errors that mean a dependency (Postgres, Redis, the network) is unreachable rather than
 * that the work itself is wrong: node socket codes, Postgres SQLSTATE classes 08/53/57 and
 * ioredis' own errors. They are retried without spending an attempt and answer 503.
 */
const DEPENDENCY_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  '08000', '08001', '08003', '08004', '08006', '53300', '57P01', '57P02', '57P03',
]);
const DEPENDENCY_ERROR_NAMES: ReadonlySet<string> = new Set(['MaxRetriesPerRequestError', 'ConnectionTimeoutError']);
const DEPENDENCY_MESSAGES = [
  /Connection terminated/i, /Connection is closed/i, /Client was closed/i,
  // ioredis without an offline queue (the api's fail-fast connection), its command timeout, and
  // a cluster client that has no slot map yet.
  /Stream isn't writeable/i, /Command timed out/i, /Cluster isn't ready/i,
];

export function isDependencyFailure(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && DEPENDENCY_ERROR_CODES.has(code)) return true;
    if (DEPENDENCY_ERROR_NAMES.has(current.name)) return true;
    const message = current.message;
    if (DEPENDENCY_MESSAGES.some((re) => re.test(message))) return true;
    if (current instanceof AggregateError && current.errors.some((e) => isDependencyFailure(e))) return true;
    current = current.cause;
  }
  return false;
}
