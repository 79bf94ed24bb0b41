/**
 * Schedules (api.md, "Schedules"): a flow started at each time of a cron pattern. The row is
 * written first, then its scheduler armed; a queue that cannot be reached leaves nothing behind.
 */
import { WeftError } from '@weft/shared/errors';
import type { ScheduleRow, ScheduleTickRow } from '@weft/shared/ports';
import { assertInputMatches } from '@weft/shared/run-engine';
import { checkCron, nextCronTime } from '@weft/shared/triggers';
import { Type, type Static } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, errorResponses, IdParamsSchema, Uuid } from '../schemas/common-schemas.js';
import { armSchedule, disarmSchedule } from '../services/schedules.js';

const CreateScheduleBody = Type.Object(
  {
    cron: Type.String({ minLength: 1, maxLength: 256, description: 'Cron pattern: 5 fields (minute hour day month weekday), or 6 with seconds first' }),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, default: 'UTC', description: 'IANA time zone the pattern is read in' })),
    input: Type.Optional(Type.Unknown({ description: 'The input of every execution it starts' })),
  },
  { additionalProperties: false },
);

const PatchScheduleBody = Type.Object({ paused: Type.Boolean() }, { additionalProperties: false });

const ScheduleSchema = Type.Object({
  id: Uuid,
  flowId: Uuid,
  cron: Type.String(),
  timezone: Type.String(),
  input: Type.Unknown(),
  paused: Type.Boolean(),
  nextTickAt: Type.Union([DateTime, Type.Null()], { description: 'null while paused' }),
  lastTickAt: Type.Union([DateTime, Type.Null()], { description: 'The newest tick recorded (started or skipped)' }),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const TickSchema = Type.Object({
  tickAt: DateTime,
  outcome: Type.Union([Type.Literal('started'), Type.Literal('skipped')]),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why it was skipped: workspace_quota, flow_missing, invalid_input' }),
  executionId: Type.Union([Uuid, Type.Null()]),
  recordedAt: DateTime,
});

const NoContent = Type.Null({ description: 'No content' });

function toView(row: ScheduleRow, now: Date): Static<typeof ScheduleSchema> {
  return {
    id: row.id, flowId: row.flowId, cron: row.cron, timezone: row.timezone, input: row.input, paused: row.paused,
    nextTickAt: row.paused ? null : nextCronTime({ cron: row.cron, timezone: row.timezone, after: now }).toISOString(),
    lastTickAt: row.lastTickAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString(),
  };
}

function tickView(tick: ScheduleTickRow): Static<typeof TickSchema> {
  return { tickAt: tick.tickAt.toISOString(), outcome: tick.outcome, reason: tick.reason, executionId: tick.executionId, recordedAt: tick.recordedAt.toISOString() };
}

export const schedulesRoutes: RoutePlugin = (app, { deps }) => {
  const { schedules, flows } = deps.database.repos;
  const { triggers } = deps.config;

  app.post(
    '/v1/flows/:id/schedules',
    {
      schema: {
        tags: ['triggers'],
        summary: 'Create a schedule: the flow starts at each time of a cron pattern',
        params: IdParamsSchema,
        body: CreateScheduleBody,
        response: { 201: ScheduleSchema, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { cron } = request.body;
      const timezone = request.body.timezone ?? 'UTC';
      const now = deps.clock();
      const problem = checkCron({ cron, timezone, minIntervalSeconds: triggers.scheduleMinIntervalSeconds, now });
      if (problem) {
        throw new WeftError(problem.tooFrequent ? 'SCHEDULE_INTERVAL_TOO_SHORT' : 'INVALID_REQUEST', `${problem.path.slice(1)}: ${problem.message}`, {
          details: [{ path: problem.path, message: problem.message }],
        });
      }
      // Its ticks would all be skipped: the input is checked against the flow's inputSchema now (400 invalid_input).
      const flow = await flows.get({ workspaceId: request.workspaceId, flowId: request.params.id });
      if (flow) assertInputMatches(deps.engine.resources, flow, request.body.input ?? null);
      const row = await schedules.create({
        workspaceId: request.workspaceId, flowId: request.params.id, cron, timezone, input: request.body.input ?? null, maxSchedules: triggers.schedulesPerWorkspace,
      });
      if (!row) throw notFound(`flow ${request.params.id}`);
      try {
        await armSchedule(deps, row);
      } catch (err) {
        // Nothing half-made: a schedule without its scheduler would never tick.
        await schedules.delete({ workspaceId: request.workspaceId, scheduleId: row.id });
        throw err;
      }
      request.log.info({ scheduleId: row.id, flowId: row.flowId, cron, timezone }, 'schedule created');
      return reply.code(201).send(toView(row, now));
    },
  );

  app.get(
    '/v1/flows/:id/schedules',
    {
      schema: {
        tags: ['triggers'],
        summary: "List a flow's schedules, oldest first",
        params: IdParamsSchema,
        response: { 200: Type.Object({ items: Type.Array(ScheduleSchema) }), ...errorResponses() },
      },
    },
    async (request) => {
      const flow = await flows.get({ workspaceId: request.workspaceId, flowId: request.params.id });
      if (!flow) throw notFound(`flow ${request.params.id}`);
      const now = deps.clock();
      const rows = await schedules.listByFlow({ workspaceId: request.workspaceId, flowId: request.params.id });
      return { items: rows.map((row) => toView(row, now)) };
    },
  );

  app.patch(
    '/v1/schedules/:id',
    {
      schema: {
        tags: ['triggers'],
        summary: 'Pause or resume a schedule',
        params: IdParamsSchema,
        body: PatchScheduleBody,
        response: { 200: ScheduleSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const { workspaceId } = request;
      const scheduleId = request.params.id;
      const { paused } = request.body;
      const current = await schedules.get({ workspaceId, scheduleId });
      if (!current) throw notFound(`schedule ${scheduleId}`);
      // Resuming arms the scheduler before the row says so; pausing changes the row first. Either
      // way a tick that sees the row paused starts nothing and removes its scheduler.
      if (!paused) await armSchedule(deps, current);
      const row = await schedules.setPaused({ workspaceId, scheduleId, paused });
      if (!row) throw notFound(`schedule ${scheduleId}`);
      if (paused) await disarmSchedule(deps, scheduleId);
      request.log.info({ scheduleId, paused }, paused ? 'schedule paused' : 'schedule resumed');
      return toView(row, deps.clock());
    },
  );

  app.delete(
    '/v1/schedules/:id',
    {
      schema: {
        tags: ['triggers'],
        summary: 'Delete a schedule (executions it started stay)',
        params: IdParamsSchema,
        response: { 204: NoContent, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const scheduleId = request.params.id;
      if (!(await schedules.delete({ workspaceId: request.workspaceId, scheduleId }))) throw notFound(`schedule ${scheduleId}`);
      await disarmSchedule(deps, scheduleId);
      request.log.info({ scheduleId }, 'schedule deleted');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/schedules/:id/ticks',
    {
      schema: {
        tags: ['triggers'],
        summary: "A schedule's recent ticks, newest first: what each started, or why it was skipped",
        params: IdParamsSchema,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) }),
        response: { 200: Type.Object({ items: Type.Array(TickSchema) }), ...errorResponses() },
      },
    },
    async (request) => {
      const { workspaceId } = request;
      const scheduleId = request.params.id;
      if (!(await schedules.get({ workspaceId, scheduleId }))) throw notFound(`schedule ${scheduleId}`);
      const ticks = await schedules.listTicks({ workspaceId, scheduleId, limit: request.query.limit ?? 20 });
      return { items: ticks.map(tickView) };
    },
  );
  return Promise.resolve();
};
