/**
 * Turns everything thrown into `{ error: { code, message, details? } }` (api.md, "Errors").
 * Client mistakes are never a 500: validation, JSON, size and media-type failures map to
 * their 4xx codes; only what nobody anticipated is `internal_error`, with a generic message.
 */
import { storedCode, toWeftError, WeftError, type ErrorCode, type ErrorDetail } from '@weft/shared/errors';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import fp from 'fastify-plugin';
import { redactUrl } from '../redact-url.js';

export function notFound(what: string): WeftError {
  return new WeftError('NOT_FOUND', `${what} not found`);
}

export function conflict(message: string, details?: ErrorDetail[]): WeftError {
  return new WeftError('CONFLICT', message, details ? { details } : {});
}

export interface ErrorBody {
  /** `code` (also in details) is the catalog code lowercased, e.g. `invalid_flow`. */
  error: { code: string; message: string; details?: Array<{ path: string; message: string; code?: string }> };
}

/** Retry-After when the error does not say: a rate limit clears fast, an outage less so. */
const DEFAULT_RETRY_AFTER_MS: Partial<Record<number, number>> = { 429: 1000, 503: 5000 };

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

const CODES_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * Validation errors (Ajv or TypeBox, both Ajv-shaped) to `{path, message}` details. A failed
 * `anyOf` reports itself once instead of once per branch; missing and extra properties point
 * at the property, not at its parent.
 */
export function validationDetails(errors: readonly FastifySchemaValidationError[]): ErrorDetail[] {
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/anyOf/`);
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  const add = (path: string, message: string): void => {
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    details.push({ path, message });
  };
  for (const e of errors) {
    if (anyOfPaths.some((prefix) => e.schemaPath.startsWith(prefix))) continue;
    const params = e.params;
    if (e.keyword === 'required') {
      for (const prop of [...stringList(params.missingProperty), ...stringList(params.requiredProperties)]) {
        add(`${e.instancePath}/${escapePointer(prop)}`, 'is required');
      }
      continue;
    }
    if (e.keyword === 'additionalProperties') {
      for (const prop of [...stringList(params.additionalProperty), ...stringList(params.additionalProperties)]) {
        add(`${e.instancePath}/${escapePointer(prop)}`, 'is not allowed');
      }
      continue;
    }
    if (e.keyword === 'boolean') {
      // TypeBox reports each extra property under `additionalProperties: false` as a false schema.
      add(e.instancePath, 'is not allowed');
      continue;
    }
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      add(e.instancePath, `must be one of: ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`);
      continue;
    }
    if (e.keyword === 'anyOf') {
      add(e.instancePath, 'does not match any allowed shape');
      continue;
    }
    add(e.instancePath, e.message ?? `fails ${e.keyword}`);
  }
  return details;
}

const PART_NAMES: Readonly<Record<string, string>> = { body: 'body', querystring: 'query string', params: 'path', headers: 'headers' };

function fromValidation(err: FastifyError): WeftError {
  const validation = err.validation ?? [];
  const context = err.validationContext ?? 'body';
  // See schemas/common-schemas.ts (Uuid): a malformed id in the path is a resource that does not exist.
  if (context === 'params' && validation.length > 0 && validation.every((v) => v.keyword === 'format' && (v.params as { format?: unknown }).format === 'uuid')) {
    return new WeftError('NOT_FOUND', 'not found');
  }
  const details = validationDetails(validation);
  const first = details[0];
  const summary = first ? `${first.path === '' ? '' : `${first.path} `}${first.message}` : 'does not match the schema';
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return new WeftError('INVALID_REQUEST', `invalid ${PART_NAMES[context] ?? context}: ${summary}${more}`, { details });
}

/** The SQLSTATE of a Postgres error anywhere in the cause chain (drizzle wraps the driver's), or null. */
export function sqlStateOf(err: unknown): string | null {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    const severity = (current as { severity?: unknown }).severity;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string') return code;
    current = current.cause;
  }
  return null;
}

/**
 * A value Postgres refused (class 22, data exception: NUL, a bad escape, out of range) is the
 * request's fault, and so is a violated constraint (class 23): a repo that lets one escape must
 * not turn it into a 500. The input guard refuses what it knows first; this is the second wall.
 * The message names the SQLSTATE only: the driver's own text may quote the value.
 */
function fromPostgres(sqlState: string, err: unknown): WeftError | null {
  if (sqlState === '23505' || sqlState === '23503' || sqlState === '23P01') {
    return new WeftError('CONFLICT', `the request conflicts with stored data (SQLSTATE ${sqlState})`, { cause: err });
  }
  if (sqlState.startsWith('22') || sqlState.startsWith('23')) {
    const message = `a value of the request was refused by the database (SQLSTATE ${sqlState})`;
    return new WeftError('INVALID_REQUEST', message, { cause: err, details: [{ path: '', message }] });
  }
  return null;
}

/**
 * Maps anything thrown to the WeftError the client sees; `internal` marks the unanticipated.
 * Fastify's own errors (validation, its codes, 4xx) are read here; everything else goes
 * through toWeftError, the one classifier the engine uses too, with the raw messages of
 * unreachable dependencies and unexpected errors kept from the client.
 */
export function classifyError(err: unknown): { error: WeftError; internal: boolean } {
  if (!(err instanceof WeftError) && err instanceof Error) {
    const fe = err as FastifyError;
    if (fe.validation) return { error: fromValidation(fe), internal: false };
    if (fe.code === 'FST_ERR_BAD_URL') {
      // A path parameter that does not decode to text (bad percent-encoding, a surrogate's bytes).
      const message = 'a path parameter is not valid percent-encoded UTF-8';
      return { error: new WeftError('INVALID_TEXT', `invalid path: ${message}`, { cause: err, details: [{ path: '', message, code: 'INVALID_TEXT' }] }), internal: false };
    }
    if (fe.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      const message = 'a path parameter is longer than the router accepts';
      return { error: new WeftError('STRING_TOO_LONG', `invalid path: ${message}`, { cause: err, details: [{ path: '', message, code: 'STRING_TOO_LONG' }] }), internal: false };
    }
    const mapped = typeof fe.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped) return { error: new WeftError(mapped, fe.message, { cause: err }), internal: false };
    const status = fe.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return { error: new WeftError(CODES_BY_STATUS[status] ?? 'INVALID_REQUEST', fe.message, { cause: err }), internal: false };
    }
  }
  if (!(err instanceof WeftError)) {
    const sqlState = sqlStateOf(err);
    const refused = sqlState === null ? null : fromPostgres(sqlState, err);
    if (refused !== null) return { error: refused, internal: false };
  }
  const error = toWeftError(err);
  if (error !== err) {
    if (error.code === 'DEPENDENCY_UNAVAILABLE') return { error: new WeftError('DEPENDENCY_UNAVAILABLE', 'a dependency is unavailable, retry later', { cause: err }), internal: false };
    if (error.code === 'INTERNAL_ERROR') return { error: new WeftError('INTERNAL_ERROR', 'internal error', { cause: err }), internal: true };
  }
  return { error, internal: error.httpStatus === 500 };
}

export function errorBody(error: WeftError, internal: boolean): ErrorBody {
  if (internal) return { error: { code: 'internal_error', message: 'internal error' } };
  return {
    error: {
      code: storedCode(error.code),
      message: error.message,
      ...(error.details && error.details.length > 0
        ? { details: error.details.map((d) => (d.code === undefined ? d : { ...d, code: storedCode(d.code) })) }
        : {}),
    },
  };
}

function statusOf(error: WeftError, internal: boolean): number {
  return internal ? 500 : error.httpStatus;
}

/**
 * Logs (4xx at info, 5xx at error with the stack; a value Postgres refused at warn, since the
 * input guard should have caught it first) and sends the error answer.
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown, metrics?: WeftMetrics): FastifyReply {
  const { error, internal } = classifyError(err);
  const status = statusOf(error, internal);
  const sqlState = status < 500 && !(err instanceof WeftError) ? sqlStateOf(err) : null;
  if (status >= 500) {
    request.log.error({ err, code: error.code, status }, 'request failed');
  } else if (sqlState !== null) {
    metrics?.apiInputRejectedTotal.inc({ reason: sqlState.startsWith('22') ? 'db_data' : 'db_constraint' });
    request.log.warn({ err, sqlState, code: error.code, status }, 'postgres refused a value of the request');
  } else {
    request.log.info({ code: error.code, status, details: error.details }, error.message);
  }
  if (status === 429 || status === 503) {
    const ms = error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS[status] ?? 1000;
    void reply.header('retry-after', String(Math.max(1, Math.ceil(ms / 1000))));
  }
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="weft"');
  return reply.code(status).send(errorBody(error, internal));
}

export interface ErrorHandlerOptions {
  metrics?: WeftMetrics;
}

function errorHandlerPlugin(app: FastifyInstance, opts: ErrorHandlerOptions, done: (err?: Error) => void): void {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err, opts.metrics));
  app.setNotFoundHandler((request, reply) => {
    // The path only, tokens redacted: a query string (`?token=` on the event routes) or a
    // path segment (`/v1/resume/<token>`) may carry one, and this message is logged and answered.
    const path = redactUrl(request.url.split('?', 1)[0] ?? '');
    return sendError(request, reply, new WeftError('NOT_FOUND', `no route ${request.method} ${path}`));
  });
  done();
}

export default fp(errorHandlerPlugin, { name: 'weft-error-handler', fastify: '5.x' });
