/**
 * Response headers that protect browsers, from two well-kept plugins rather than hand-set headers:
 *
 * - `@fastify/helmet` on every answer: `X-Content-Type-Options: nosniff`, `Referrer-Policy:
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
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
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

async function securityHeadersPlugin(app: FastifyInstance, opts: SecurityHeadersOptions): Promise<void> {
  // Routes registered after this plugin under /docs (the Swagger UI) get the HTML policy.
  app.addHook('onRoute', (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) {
      route.config = { ...route.config, helmet: { contentSecurityPolicy: DOCS_CSP } } as typeof route.config;
    }
  });
  await app.register(helmet, {
    contentSecurityPolicy: API_CSP,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Cross-origin reads are governed by CORS; same-origin CORP would only block embedding.
    crossOriginResourcePolicy: { policy: opts.corsOrigins.length > 0 ? 'cross-origin' : 'same-origin' },
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
