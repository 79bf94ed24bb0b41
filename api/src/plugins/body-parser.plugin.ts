/**
 * JSON is the only request body the api accepts (anything else answers 415
 * unsupported_media_type). An empty JSON body counts as no body, so clients that always send
 * `Content-Type: application/json` can still call body-less routes (cancel, retry…);
 * malformed JSON is 400 invalid_json. Prototype poisoning is refused like malformed JSON.
 *
 * Every parsed body then passes the JSON guard (schemas/json-guard.ts) before any schema or
 * handler sees it: nesting deeper than WEFT_MAX_JSON_DEPTH (400 json_too_deep), a string or key
 * longer than WEFT_MAX_STRING_LENGTH (400 string_too_long), text Postgres cannot store (400
 * invalid_text), each with the JSON pointer of the offending value.
 */
import { WeftError } from '@weft/shared/errors';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { inspectJson, type GuardViolation, type JsonLimits } from '../schemas/json-guard.js';

export interface BodyParserOptions {
  /** Default: depth 64, strings of 262,144 characters (the defaults of WEFT_MAX_JSON_DEPTH, WEFT_MAX_STRING_LENGTH). */
  limits?: JsonLimits;
  metrics?: WeftMetrics;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 64, maxStringLength: 262_144 };

/** The 400 for a violation of the guard in one part of the request (body, path, query string, headers). */
export function guardError(part: string, violation: GuardViolation): WeftError {
  const where = violation.path === '' ? '' : `${violation.path} `;
  return new WeftError(violation.code, `invalid ${part}: ${where}${violation.message}`, {
    details: [{ path: violation.path, message: violation.message, code: violation.code }],
  });
}

function bodyParserPlugin(app: FastifyInstance, opts: BodyParserOptions, done: (err?: Error) => void): void {
  const limits = opts.limits ?? DEFAULT_JSON_LIMITS;
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, next) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      next(null, undefined);
      return;
    }
    void parseJson(request, text, (err: Error | null, value?: unknown) => {
      if (err) {
        next(err);
        return;
      }
      const violation = inspectJson(value, limits);
      if (violation === null) {
        next(null, value);
        return;
      }
      opts.metrics?.apiInputRejectedTotal.inc({ reason: violation.reason });
      next(guardError('body', violation));
    });
  });
  done();
}

export default fp(bodyParserPlugin, { name: 'weft-body-parser', fastify: '5.x' });
