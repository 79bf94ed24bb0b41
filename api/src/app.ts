/**
 * buildApp(deps): the whole HTTP api as a Fastify instance that never listens (main.ts
 * listens; tests use inject()). Order matters: the error handler, body parser, metrics and
 * auth hooks and the OpenAPI collector are registered before any route.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import websocket from '@fastify/websocket';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { ApiDeps } from './deps.js';
import { EventHub } from './events/event-hub.js';
import type { ApiInstance, RoutePlugin } from './fastify-types.js';
import authPlugin from './plugins/auth.plugin.js';
import bodyParserPlugin from './plugins/body-parser.plugin.js';
import errorHandlerPlugin, { sendError } from './plugins/error-handler.plugin.js';
import httpMetricsPlugin from './plugins/http-metrics.plugin.js';
import inputGuardPlugin from './plugins/input-guard.plugin.js';
import securityHeadersPlugin from './plugins/security-headers.plugin.js';
import openApiPlugin from './plugins/openapi.plugin.js';
import { UrlRedactor } from './redact-url.js';
import rateLimitPlugin from './plugins/rate-limit.plugin.js';
import { credentialsRoutes } from './routes/credentials.routes.js';
import { deadLettersRoutes } from './routes/dead-letters.routes.js';
import { eventsRoutes } from './routes/events.routes.js';
import { executionsRoutes } from './routes/executions.routes.js';
import { flowsRoutes } from './routes/flows.routes.js';
import { apiKeysRoutes } from './routes/api-keys.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import { metricsRoutes } from './routes/metrics.routes.js';
import { modelsRoutes } from './routes/models.routes.js';
import { nodeRunsRoutes } from './routes/node-runs.routes.js';
import { queuesRoutes } from './routes/queues.routes.js';
import { resumeRoutes } from './routes/resume.routes.js';
import { hookCallsRoutes } from './routes/hook-calls.routes.js';
import { hooksRoutes } from './routes/hooks.routes.js';
import { schedulesRoutes } from './routes/schedules.routes.js';
import { secretsRoutes } from './routes/secrets.routes.js';
import { workspaceSettingsRoutes } from './routes/workspace-settings.routes.js';
import { workspacesRoutes } from './routes/workspaces.routes.js';
import { tasksRoutes } from './routes/tasks.routes.js';
import { workerTokensRoutes } from './routes/worker-tokens.routes.js';
import { startWorkspaceDeletions } from './services/workspace-deletions.js';
import { startSchedules } from './services/schedules.js';

/**
 * Every route plugin, each registered with `{ deps }`. Routes declare their full path
 * (`/v1/...`); auth is decided by the auth plugin from the path and `config.auth`, never by
 * the route itself.
 */
export const ROUTE_PLUGINS: readonly RoutePlugin[] = [
  healthRoutes,
  metricsRoutes,
  workspacesRoutes,
  workspaceSettingsRoutes,
  apiKeysRoutes,
  credentialsRoutes,
  secretsRoutes,
  flowsRoutes,
  modelsRoutes,
  queuesRoutes,
  // ---- executions and live events (GET /v1/ws, SSE) ----
  executionsRoutes,
  nodeRunsRoutes,
  deadLettersRoutes,
  eventsRoutes,
  resumeRoutes,
  // ---- triggers: schedules and inbound webhooks ----
  schedulesRoutes,
  hooksRoutes,
  hookCallsRoutes,
  workerTokensRoutes,
  tasksRoutes,
];

/** A client's X-Request-Id is kept when it is a sane token; otherwise a fresh UUID. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

export { redactUrl, TOKEN_PATH_PATTERNS } from './redact-url.js';

export async function buildApp(deps: ApiDeps): Promise<ApiInstance> {
  // Tokens in URLs (`?token=`, `/v1/resume/<token>`, and the token segment of any route added
  // later: see the onRoute hook below) never reach a log line.
  const urls = new UrlRedactor();
  const logger: FastifyBaseLogger = deps.logger.child(
    { component: 'api' },
    {
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method,
          url: urls.redact(req.url ?? ''),
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
  );

  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: deps.config.bodyLimitBytes,
    trustProxy: false,
    genReqId: requestId,
    return503OnClosing: true,
    // Above the longest param a route accepts (a resume link's token, RESUME_LINK_MAX_LENGTH), so
    // that an over-long one is refused by its schema (400 in the error shape), not by the router.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    // A path the router cannot decode answers in the documented error shape, like every error.
    frameworkErrors: (err, request, reply) => {
      void sendError(request, reply, err, deps.metrics);
    },
  })
    .setValidatorCompiler(TypeBoxValidatorCompiler)
    .withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('deps', deps);
  // Registered before any route: every route with a `:token` segment is redacted from the logs.
  app.addHook('onRoute', (route) => { urls.addRoute(route.url); });
  // One event-bus subscription per api instance, fanned out to WebSocket and SSE clients.
  const hub = new EventHub(deps.events, deps.metrics, deps.logger.child({ component: 'event-hub' }));
  app.decorate('hub', hub);
  await hub.start();
  app.addHook('onClose', async () => { await hub.stop(); });
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });

  await app.register(errorHandlerPlugin, { metrics: deps.metrics });
  const limits = { maxDepth: deps.config.jsonMaxDepth, maxStringLength: deps.config.jsonMaxStringLength };
  await app.register(bodyParserPlugin, { limits, metrics: deps.metrics });
  await app.register(inputGuardPlugin, { metrics: deps.metrics });
  await app.register(httpMetricsPlugin, { metrics: deps.metrics });
  // Before the auth hook and the routes: CORS preflights carry no key; /docs gets its own CSP.
  await app.register(securityHeadersPlugin, { corsOrigins: deps.config.corsOrigins });
  await app.register(openApiPlugin);
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(authPlugin);
  await app.register(rateLimitPlugin);

  for (const routes of ROUTE_PLUGINS) {
    await app.register(routes, { deps });
  }

  const stopDeletions = startWorkspaceDeletions(deps);
  app.addHook('onClose', async () => { await stopDeletions(); });
  // Schedules whose scheduler is missing (all of them in embedded mode, after a restart) are re-armed.
  const schedules = startSchedules(deps);
  app.addHook('onClose', async () => { await schedules.stop(); });

  return app;
}
