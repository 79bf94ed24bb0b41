/**
 * Fastify type augmentation and the instance/plugin types every api module uses.
 */
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { WorkerTokenRow } from '@weft/shared/ports';
import type { ApiDeps } from './deps.js';
import type { ApiKeysState } from './plugins/api-key-cache.js';

/**
 * Who may call a route. Default: `workspace` for every route under `/v1/`, `none` elsewhere.
 * `admin` routes need `Authorization: Bearer $WEFT_ADMIN_TOKEN` instead of a workspace key;
 * `workspace-or-admin` routes take either (`request.workspaceId` is '' with the admin token).
 * `worker` routes (the task protocol) need a worker token (`POST /v1/worker-tokens`).
 */
export type RouteAuth = 'none' | 'workspace' | 'admin' | 'workspace-or-admin' | 'worker';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin on every workspace-authenticated route; '' elsewhere. */
    workspaceId: string;
    /** The id of the API key that authenticated the request (what per-key limits key on); '' when none did. */
    apiKeyId: string;
    /** The worker token of a `worker` route's request; null elsewhere. */
    workerToken: WorkerTokenRow | null;
  }
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyInstance {
    /** The deps bag given to buildApp(), for helpers that only hold a request. */
    deps: ApiDeps;
    /** The api key cache and revocation (auth plugin). */
    apiKeys: ApiKeysState;
    /**
     * Counts the request against its `apiKeyId`'s and `workspaceId`'s rates; throws 429
     * rate_limited past either (rate-limit plugin). For routes that find their workspace
     * without a key (inbound webhooks).
     */
    enforceRateLimits: (request: FastifyRequest) => Promise<void>;
  }
}

export type ApiInstance = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Every route plugin receives the deps bag explicitly. */
export interface RoutePluginOptions {
  deps: ApiDeps;
}

export type RoutePlugin = FastifyPluginAsyncTypebox<RoutePluginOptions>;
