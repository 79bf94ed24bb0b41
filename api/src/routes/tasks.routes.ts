/**
 * The task protocol (api.md, "External tasks"): plain HTTP with a worker token, so that a worker
 * can be a few lines of any language. Every call on a claimed task carries the `leaseId` its
 * claim returned: the fence that refuses a lapsed worker (409 task_lease_lost).
 */
import { TASK_HANDLER_PATTERN } from '@weft/shared/flow';
import { WeftError } from '@weft/shared/errors';
import { Type, type TProperties } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { RoutePlugin } from '../fastify-types.js';
import { DateTime, errorResponses, Uuid } from '../schemas/common-schemas.js';

const HandlerName = Type.String({ pattern: TASK_HANDLER_PATTERN.source });
const TaskParams = Type.Object({ taskId: Uuid });
const LeaseId = Uuid;

const ClaimBody = Type.Object(
  {
    handlers: Type.Array(HandlerName, { minItems: 1, maxItems: 100, uniqueItems: true, description: 'Handlers to claim a task of; each must be in the token\'s scope' }),
    queues: Type.Optional(Type.Array(HandlerName, { minItems: 1, maxItems: 20, uniqueItems: true, description: 'Only tasks of nodes with one of these `queue` labels' })),
    waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 120_000, description: 'Long poll: wait up to this long for a task (capped by WEFT_TASK_CLAIM_MAX_WAIT_MS, 30 s); default 0' })),
  },
  { additionalProperties: false },
);

const ClaimedTaskSchema = Type.Object({
  taskId: Uuid,
  leaseId: Uuid,
  executionId: Uuid,
  nodeId: Type.String(),
  handler: Type.String(),
  queue: Type.Union([Type.String(), Type.Null()]),
  attempt: Type.Integer({ description: '1 for the first claim; a lapsed lease or a retry claims the next' }),
  maxAttempts: Type.Integer(),
  input: Type.Unknown({ description: "The node's input, its templates rendered" }),
  secrets: Type.Record(Type.String(), Type.String(), { description: 'The secrets the node names, by name (a name the workspace lacks is absent)' }),
  checkpoint: Type.Unknown({ description: 'The last checkpoint an attempt saved; null when none' }),
  leaseExpiresAt: DateTime,
  heartbeatTimeoutMs: Type.Integer(),
});

const Progress = Type.Object(
  {
    percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    message: Type.Optional(Type.String({ maxLength: 1000 })),
    eta: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

const LogEntry = Type.Object(
  { level: Type.Union(['log', 'info', 'warn', 'error', 'debug'].map((l) => Type.Literal(l as 'log' | 'info' | 'warn' | 'error' | 'debug'))), message: Type.String({ maxLength: 10_000 }) },
  { additionalProperties: false },
);

const leased = <T extends TProperties>(props: T) => Type.Object({ leaseId: LeaseId, ...props }, { additionalProperties: false });

export const tasksRoutes: RoutePlugin = (app, { deps }) => {
  const { tasks } = deps.engine;
  const config = { auth: 'worker' as const };
  const lease = (request: FastifyRequest & { params: { taskId: string }; body: { leaseId: string } }) => ({
    workspaceId: request.workspaceId, taskId: request.params.taskId, leaseId: request.body.leaseId,
  });
  const tokenId = (request: FastifyRequest): string => request.workerToken?.id ?? '';
  // Long-polled claims open now, per workspace: each holds a connection and a wake-up listener.
  const waitingClaims = new Map<string, number>();
  const cap = deps.config.taskClaimsWaitingPerWorkspace;

  app.post(
    '/v1/tasks/claim',
    {
      config,
      schema: {
        tags: ['tasks'],
        summary: 'Claim a task of these handlers (long poll up to waitMs): 200 with the task and its lease, or 204',
        body: ClaimBody,
        response: { 200: ClaimedTaskSchema, 204: Type.Null({ description: 'No task came within waitMs' }), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const scope = new Set(request.workerToken?.handlers ?? []);
      const outside = request.body.handlers.flatMap((h, i) => (scope.has(h) ? [] : [{ path: `/handlers/${i}`, message: `handler '${h}' is not in this worker token's scope` }]));
      if (outside.length > 0) throw new WeftError('TASK_HANDLER_NOT_ALLOWED', 'the worker token may not claim tasks of these handlers', { details: outside });
      const { workspaceId } = request;
      const longPoll = (request.body.waitMs ?? 0) > 0 && deps.config.taskClaimMaxWaitMs > 0;
      if (longPoll) {
        const open = waitingClaims.get(workspaceId) ?? 0;
        if (open >= cap) {
          deps.metrics.quotaRefusalsTotal.inc({ quota: 'task_claims' });
          request.log.info({ open, max: cap }, 'task claim refused: the workspace holds its most long-polled claims');
          throw new WeftError('TASK_CLAIMS_LIMIT_EXCEEDED', `the workspace already has ${open} long-polled claims open on this instance (at most ${cap}); claim with fewer workers or a shorter waitMs`, { retryAfterMs: 1000 });
        }
        waitingClaims.set(workspaceId, open + 1);
      }
      const gone = new AbortController();
      const onClose = (): void => { gone.abort(); };
      reply.raw.once('close', onClose);
      try {
        const claimed = await tasks.claim({
          workspaceId: request.workspaceId, workerTokenId: tokenId(request), handlers: request.body.handlers, queues: request.body.queues,
          waitMs: Math.min(request.body.waitMs ?? 0, deps.config.taskClaimMaxWaitMs), signal: gone.signal, pollIntervalMs: deps.config.taskClaimPollIntervalMs,
        });
        if (!claimed) return await reply.code(204).send(null);
        return await reply.code(200).send(claimed);
      } finally {
        reply.raw.off('close', onClose);
        if (longPoll) {
          const left = (waitingClaims.get(workspaceId) ?? 1) - 1;
          if (left > 0) waitingClaims.set(workspaceId, left);
          else waitingClaims.delete(workspaceId);
        }
      }
    },
  );

  app.post(
    '/v1/tasks/:taskId/heartbeat',
    {
      config,
      schema: {
        tags: ['tasks'],
        summary: "Extend the task's lease, with optional progress (published as node.progress); answers cancelled when the node no longer waits",
        params: TaskParams,
        body: leased({
          progress: Type.Optional(Progress),
          release: Type.Optional(Type.Boolean({ description: 'End the lease now (a worker shutting down): the next claim takes the task, with its checkpoint' })),
        }),
        response: {
          200: Type.Object({ status: Type.Union([Type.Literal('active'), Type.Literal('released'), Type.Literal('cancelled')]), leaseExpiresAt: Type.Optional(DateTime) }),
          ...errorResponses(),
        },
      },
    },
    async (request) => tasks.heartbeat({ ...lease(request), progress: request.body.progress, release: request.body.release }),
  );

  app.post(
    '/v1/tasks/:taskId/checkpoint',
    {
      config,
      schema: {
        tags: ['tasks'],
        summary: 'Save a small JSON state (WEFT_TASK_CHECKPOINT_MAX_BYTES): the next attempt receives it',
        params: TaskParams,
        body: leased({ state: Type.Unknown({ description: 'Any JSON' }) }),
        response: { 200: Type.Object({ leaseExpiresAt: DateTime }), ...errorResponses() },
      },
    },
    async (request) => {
      const bytes = Buffer.byteLength(JSON.stringify(request.body.state ?? null), 'utf8');
      if (bytes > deps.config.taskCheckpointMaxBytes) {
        throw new WeftError('TASK_CHECKPOINT_TOO_LARGE', `the checkpoint is ${bytes} bytes of JSON, over WEFT_TASK_CHECKPOINT_MAX_BYTES (${deps.config.taskCheckpointMaxBytes})`, {
          details: [{ path: '/state', message: `at most ${deps.config.taskCheckpointMaxBytes} bytes of JSON` }],
        });
      }
      return tasks.checkpoint({ ...lease(request), checkpoint: request.body.state ?? null });
    },
  );

  app.post(
    '/v1/tasks/:taskId/complete',
    {
      config,
      schema: {
        tags: ['tasks'],
        summary: "Complete the task: its output becomes the node's",
        params: TaskParams,
        body: leased({ output: Type.Optional(Type.Unknown()), logs: Type.Optional(Type.Array(LogEntry, { maxItems: 1000 })) }),
        response: { 200: Type.Object({ status: Type.Literal('completed') }), ...errorResponses() },
      },
    },
    async (request) => {
      await tasks.complete({ ...lease(request), output: request.body.output ?? null, logs: request.body.logs, workerTokenId: tokenId(request) });
      return { status: 'completed' as const };
    },
  );

  app.post(
    '/v1/tasks/:taskId/fail',
    {
      config,
      schema: {
        tags: ['tasks'],
        summary: "Fail the task: at once, or (retryable) through the node's retry policy",
        params: TaskParams,
        body: leased({
          code: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }),
          message: Type.String({ maxLength: 10_000 }),
          retryable: Type.Optional(Type.Boolean({ default: false })),
        }),
        response: {
          200: Type.Object({ status: Type.Union([Type.Literal('failed'), Type.Literal('retrying')]), nextAttemptAt: Type.Optional(DateTime) }),
          ...errorResponses(),
        },
      },
    },
    async (request) => tasks.fail({ ...lease(request), code: request.body.code, message: request.body.message, retryable: request.body.retryable ?? false, workerTokenId: tokenId(request) }),
  );

  app.post(
    '/v1/tasks/:taskId/wait',
    {
      config,
      schema: {
        tags: ['tasks'],
        summary: 'Park the task until an outside event: answers a signed resume link whose call completes the node with its body',
        params: TaskParams,
        body: leased({ until: Type.Optional(DateTime) }),
        response: { 200: Type.Object({ status: Type.Literal('parked'), resumeUrl: Type.String(), resumeUrlExpiresAt: DateTime }), ...errorResponses() },
      },
    },
    async (request) => {
      const until = request.body.until;
      if (until !== undefined && Date.parse(until) <= Date.now()) {
        throw new WeftError('INVALID_REQUEST', 'until must be in the future', { details: [{ path: '/until', message: 'must be in the future' }] });
      }
      return { status: 'parked' as const, ...(await tasks.wait({ ...lease(request), until })) };
    },
  );
  return Promise.resolve();
};
