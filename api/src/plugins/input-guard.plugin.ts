/**
 * The body is guarded by the body parser; this hook guards the rest of a request before any
 * schema or handler sees it: path parameters, the query string and header values must hold
 * text Postgres can store (no NUL, no lone surrogate), else 400 invalid_text with a pointer to
 * the parameter. Lengths there are already bounded: the router's maxParamLength, Node's header
 * size limit, and each route's schema.
 */
import type { WeftMetrics } from '@weft/shared/metrics';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { inspectStrings } from '../schemas/json-guard.js';
import { guardError } from './body-parser.plugin.js';

export interface InputGuardOptions {
  metrics?: WeftMetrics;
}

function inputGuardPlugin(app: FastifyInstance, opts: InputGuardOptions, done: (err?: Error) => void): void {
  app.addHook('preValidation', (request, _reply, next) => {
    const parts = [
      ['path', request.params],
      ['query string', request.query],
      ['headers', request.headers],
    ] as const;
    for (const [part, values] of parts) {
      if (typeof values !== 'object' || values === null) continue;
      const violation = inspectStrings(values as Record<string, unknown>);
      if (violation === null) continue;
      opts.metrics?.apiInputRejectedTotal.inc({ reason: violation.reason });
      next(guardError(part, violation));
      return;
    }
    next();
  });
  done();
}

export default fp(inputGuardPlugin, { name: 'weft-input-guard', fastify: '5.x' });
