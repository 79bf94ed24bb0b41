/**
 * Response headers that protect browsers, from two well-kept libraries rather than hand-set headers:
 *
 * - `helmet` on every answer: `X-Content-Type-Options: nosniff`, `Referrer-Policy:
 *   no-referrer`, `X-Frame-Options`, and a Content-Security-Policy. JSON answers get the strictest
 *   one (`default-src 'none'; frame-ancestors 'none'`): nothing they hold may run or be framed.
 *   The HTML of the Swagger UI under `/docs` gets one that lets its own scripts, styles and the
 *   document load from this origin, and still refuses framing (clickjacking).
 * - `@fastify/cors`, only when `WEFT_CORS_ORIGINS` lists origins: browser clients on those
 *   origins may call the api with a bearer key, and open `EventSource` with `?token=`. No
 *   cookies are involved, so credentials mode stays off. Preflights are answered before the
 *   auth hook (it is registered first), since a browser sends them without the key.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import fp from 'fastify-plugin';

export interface SecurityHeadersOptions {
  /** Allowed browser origins; `['*']` for any; empty: no CORS headers at all. */
  corsOrigins: readonly string[];
}

/** Where the HTML of the Swagger UI and its assets are served (openapi.plugin.ts). */
export const DOCS_PREFIX = '/docs';

const API_CSP = {
  useDefaults: false,
  directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
};

/**
 * The Swagger UI's own assets only. Inline styles are allowed because the UI sets style
 * attributes at run time; no `upgrade-insecure-requests`, which would break `/docs` on the
 * plain-http localhost of the quickstart.
 */
const DOCS_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/** Headers every browser client may send, and the ones it may read. */
const ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'last-event-id', 'x-request-id'];
const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'www-authenticate'];

/** helmet's options for one content security policy; the other headers are the same for all. */
function helmetOptions(opts: SecurityHeadersOptions, contentSecurityPolicy: HelmetOptions['contentSecurityPolicy']): HelmetOptions {
  return {
    contentSecurityPolicy,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Cross-origin reads are governed by CORS; same-origin CORP would only block embedding.
    crossOriginResourcePolicy: { policy: opts.corsOrigins.length > 0 ? 'cross-origin' : 'same-origin' },
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The Swagger UI's HTML and assets, which get their own policy (set by this plugin). */
    docsPage?: boolean;
  }
}

async function securityHeadersPlugin(app: FastifyInstance, opts: SecurityHeadersOptions): Promise<void> {
  // helmet's middleware is built once per policy. @fastify/helmet built it again for every
  // request (options parsed, directives joined): about 5% of what the api allocated per start.
  const apiHeaders = helmet(helmetOptions(opts, API_CSP));
  const docsHeaders = helmet(helmetOptions(opts, DOCS_CSP));
  // Routes registered after this plugin under /docs (the Swagger UI) get the HTML policy.
  app.addHook('onRoute', (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) route.config = { ...route.config, docsPage: true };
  });
  app.addHook('onRequest', (request, reply, done) => {
    // helmet throws on a bad option when it is built, not here; its callback gets no error.
    (request.routeOptions.config.docsPage === true ? docsHeaders : apiHeaders)(request.raw, reply.raw, () => { done(); });
  });
  if (opts.corsOrigins.length === 0) return;
  const anyOrigin = opts.corsOrigins.includes('*');
  await app.register(cors, {
    origin: anyOrigin ? '*' : [...opts.corsOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
    strictPreflight: true,
  });
}

export default fp(securityHeadersPlugin, { name: 'weft-security-headers', fastify: '5.x' });
