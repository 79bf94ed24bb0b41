/**
 * Flows: immutable versions under one id. The body schema of flow writes is the shared
 * FlowDefinitionSchema, for the OpenAPI document only: validateFlow is the authority and
 * reports every problem at once, each with a JSON path, as 400 invalid_flow (so a flow never
 * half-fails as invalid_request and half as invalid_flow).
 */
import type { FlowRecord } from '@weft/db/repos';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { WeftError } from '@weft/shared/errors';
import { flowLimitsOf } from '@weft/shared/config';
import { FlowDefinitionSchema, FlowEdgeSchema, validateFlow, type FlowDefinition, type FlowLimits } from '@weft/shared/flow';
import type { FastifySchemaCompiler } from 'fastify';
import { Type, type TSchema } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DateTime, DEFAULT_PAGE_LIMIT, errorResponses, IdParamsSchema, PageQuerySchema, Uuid } from '../schemas/common-schemas.js';

/** Params and query are checked as everywhere; the body goes to validateFlow as is. */
const flowBodyDocumentedOnly: FastifySchemaCompiler<TSchema> = (route) =>
  route.httpPart === 'body' ? (value: unknown) => ({ value }) : TypeBoxValidatorCompiler(route);

const UpdateFlowBody = Type.Object(
  {
    ...FlowDefinitionSchema.properties,
    name: Type.Optional(FlowDefinitionSchema.properties.name),
  },
  { additionalProperties: false, description: 'The new graph; name defaults to the current one' },
);

/**
 * A flow as read back: every field of the definition that was written (so GET → edit → PUT
 * loses nothing), with its id, version and dates. Built from FlowDefinitionSchema, so a field
 * added to the definition is answered (and documented) without a change here.
 */
const FlowSchema = Type.Object({
  id: Uuid,
  ...FlowDefinitionSchema.properties,
  edges: Type.Array(FlowEdgeSchema, { description: "Always present when read back ([] when none)" }),
  version: Type.Integer({ minimum: 1 }),
  createdAt: DateTime,
  updatedAt: DateTime,
}, { title: 'Flow' });

const FlowPage = Type.Object({
  items: Type.Array(FlowSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
}, { title: 'FlowPage' });

const GetFlowQuery = Type.Object({
  version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'A past version; default: the latest' })),
});

const NoContent = Type.Null({ description: 'No content' });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type FlowView = FlowDefinition & { id: string; version: number; createdAt: string; updatedAt: string };

/** Every field of the stored definition, as written, plus the record's own. */
export function toFlowView(flow: FlowRecord): FlowView {
  const { workspaceId: _workspaceId, createdAt, updatedAt, ...stored } = flow;
  return { ...stored, createdAt: createdAt.toISOString(), updatedAt: updatedAt.toISOString() };
}

/** Runs the flow rules (under the deployment's limits); throws 400 invalid_flow listing every problem. */
export function requireValidFlow(input: unknown, limits?: Readonly<FlowLimits>): FlowDefinition {
  const result = validateFlow(input, limits ? { limits } : {});
  if (result.ok) return result.flow;
  const first = result.errors[0];
  const summary = first ? `${first.path} ${first.message}` : 'invalid flow';
  const more = result.errors.length > 1 ? ` (and ${result.errors.length - 1} more)` : '';
  throw new WeftError('INVALID_FLOW', `${summary}${more}`, { details: result.errors });
}

export const flowsRoutes: RoutePlugin = (app, { deps }) => {
  const { flows } = deps.database.repos;
  const tags = ['flows'];
  const limits = flowLimitsOf(deps.config);

  app.post(
    '/v1/flows',
    {
      validatorCompiler: flowBodyDocumentedOnly,
      schema: { tags, summary: 'Create a flow (version 1)', body: FlowDefinitionSchema, response: { 201: FlowSchema, ...errorResponses() } },
    },
    async (request, reply) => {
      const flow = requireValidFlow(request.body, limits);
      const created = await flows.create({ workspaceId: request.workspaceId, flow });
      request.log.info({ flowId: created.id }, 'flow created');
      return reply.code(201).send(toFlowView(created));
    },
  );

  app.get(
    '/v1/flows',
    { schema: { tags, summary: 'List flows (latest versions), newest first', querystring: PageQuerySchema, response: { 200: FlowPage, ...errorResponses() } } },
    async (request) => {
      const { limit, cursor } = request.query;
      const page = await flows.list({
        workspaceId: request.workspaceId,
        limit: limit ?? DEFAULT_PAGE_LIMIT,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return { items: page.items.map(toFlowView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/flows/:id',
    {
      schema: {
        tags,
        summary: 'A flow at its latest (or the given) version',
        params: IdParamsSchema,
        querystring: GetFlowQuery,
        response: { 200: FlowSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const { version } = request.query;
      const flow = await flows.get({ workspaceId: request.workspaceId, flowId: request.params.id, ...(version === undefined ? {} : { version }) });
      if (!flow) throw notFound(version === undefined ? 'flow' : `flow version ${version}`);
      return toFlowView(flow);
    },
  );

  app.put(
    '/v1/flows/:id',
    {
      validatorCompiler: flowBodyDocumentedOnly,
      schema: {
        tags,
        summary: 'Replace the graph: writes version + 1',
        params: IdParamsSchema,
        body: UpdateFlowBody,
        response: { 200: FlowSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const { workspaceId } = request;
      const flowId = request.params.id;
      const body = request.body as unknown;
      let input = body;
      if (isRecord(body) && body.name === undefined) {
        const current = await flows.get({ workspaceId, flowId });
        if (!current) throw notFound('flow');
        input = { ...body, name: current.name };
      }
      const flow = requireValidFlow(input, limits);
      const updated = await flows.update({ workspaceId, flowId, flow });
      if (!updated) throw notFound('flow');
      request.log.info({ flowId, version: updated.version }, 'flow updated');
      return toFlowView(updated);
    },
  );

  app.delete(
    '/v1/flows/:id',
    { schema: { tags, summary: 'Delete a flow (running executions keep their version)', params: IdParamsSchema, response: { 204: NoContent, ...errorResponses() } } },
    async (request, reply) => {
      const deleted = await flows.delete({ workspaceId: request.workspaceId, flowId: request.params.id });
      if (!deleted) throw notFound('flow');
      request.log.info({ flowId: request.params.id }, 'flow deleted');
      return reply.code(204).send(null);
    },
  );
  return Promise.resolve();
};
