/**
 * Dead letters (api.md, "Executions"): nodes that failed for good are parked by the worker in
 * `weft-dead` (job id `<nodeJobId>.dead`). The queue is shared by every workspace, so each
 * answer is filtered by the letter's own `workspaceId`; another workspace's letter is a 404.
 */
import type { DeadLetterJobData } from '@weft/shared/jobs';
import { QUEUES, type StoredJob } from '@weft/shared/ports';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { DEFAULT_PAGE_LIMIT, DateTime, errorResponses } from '../schemas/common-schemas.js';

/** Dead-letter ids as the node processor writes them; anything else names no dead letter. */
const DEAD_LETTER_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,250}\.dead$/;

/** Jobs read from the queue per round trip while looking for the caller's letters. */
export const DEAD_LETTER_SCAN_PAGE = 200;
/** Bound on one listing's work: a huge shared queue must not make one request scan it all. */
export const DEAD_LETTER_SCAN_LIMIT = 10_000;

const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_LIMIT })),
});

const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 512, description: 'Dead-letter id, as listed' }),
});

const DeadLetterSchema = Type.Object({
  id: Type.String(),
  executionId: Type.String(),
  nodeId: Type.String(),
  error: Type.Object({
    code: Type.String(),
    category: Type.String({ description: 'transient | permanent | dependency' }),
    message: Type.String(),
  }),
  attempts: Type.Integer({ minimum: 0 }),
  failedAt: DateTime,
});

const ListResponse = Type.Object({ items: Type.Array(DeadLetterSchema, { description: 'Newest first' }) });
const ReplayAccepted = Type.Object({ executionId: Type.String(), nodeId: Type.String() });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Job data is untyped at this boundary: a letter with an unexpected shape is ignored. */
export function parseDeadLetter(data: unknown): DeadLetterJobData | null {
  if (!isRecord(data) || !isRecord(data.error)) return null;
  const { executionId, workspaceId, nodeId, attempts, failedAt, error } = data;
  if (typeof executionId !== 'string' || typeof workspaceId !== 'string' || typeof nodeId !== 'string') return null;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || typeof failedAt !== 'string') return null;
  const { code, category, message } = error;
  if (typeof code !== 'string' || typeof category !== 'string' || typeof message !== 'string') return null;
  return { executionId, workspaceId, nodeId, attempts, failedAt, error: { code, category, message } };
}

function view(id: string, letter: DeadLetterJobData) {
  return { id, executionId: letter.executionId, nodeId: letter.nodeId, error: letter.error, attempts: letter.attempts, failedAt: letter.failedAt };
}

export const deadLettersRoutes: RoutePlugin = (app, { deps }) => {
  const { queue } = deps;

  /** The letter when it exists and belongs to the workspace; a 404 otherwise. */
  async function findOwn(workspaceId: string, id: string): Promise<{ job: StoredJob; letter: DeadLetterJobData }> {
    const job = DEAD_LETTER_ID.test(id) ? await queue.get(QUEUES.dead, id) : null;
    const letter = job ? parseDeadLetter(job.data) : null;
    if (!job || letter?.workspaceId !== workspaceId) throw notFound(`dead letter ${id}`);
    return { job, letter };
  }

  app.get(
    '/v1/dead-letters',
    {
      schema: {
        tags: ['executions'],
        summary: 'Nodes that failed after their last attempt, newest first',
        querystring: ListQuery,
        response: { 200: ListResponse, ...errorResponses() },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_PAGE_LIMIT;
      const items: Array<ReturnType<typeof view>> = [];
      let scanned = 0;
      let malformed = 0;
      let exhausted = false;
      while (items.length < limit && scanned < DEAD_LETTER_SCAN_LIMIT) {
        const page = await queue.list(QUEUES.dead, { limit: DEAD_LETTER_SCAN_PAGE, offset: scanned });
        scanned += page.length;
        for (const job of page) {
          const letter = parseDeadLetter(job.data);
          if (!letter) malformed += 1;
          else if (letter.workspaceId === request.workspaceId) items.push(view(job.id, letter));
          if (items.length === limit) break;
        }
        if (page.length < DEAD_LETTER_SCAN_PAGE) {
          exhausted = true;
          break;
        }
      }
      if (malformed > 0) request.log.warn({ malformed }, 'dead letters with an unexpected shape were skipped');
      if (!exhausted && items.length < limit && scanned >= DEAD_LETTER_SCAN_LIMIT) {
        request.log.warn({ scanned, found: items.length }, 'dead-letter listing stopped at its scan limit; the queue needs draining');
      }
      request.log.debug({ count: items.length, scanned }, 'dead letters listed');
      return { items };
    },
  );

  app.post(
    '/v1/dead-letters/:id/replay',
    {
      schema: {
        tags: ['executions'],
        summary: 'Re-run the node of a dead letter',
        params: IdParams,
        response: { 202: ReplayAccepted, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request;
      const { id } = request.params;
      const { job, letter } = await findOwn(workspaceId, id);
      const { executionId, nodeId } = letter;
      const log = request.log.child({ deadLetterId: id, executionId, nodeId });
      // Removing first claims the letter: of two concurrent replays, only one re-runs the node.
      if (!(await queue.remove(QUEUES.dead, id))) throw notFound(`dead letter ${id}`);
      try {
        await deps.engine.replay({ workspaceId, executionId, nodeId });
      } catch (err) {
        // The node was not re-run: put the letter back so that it can be replayed later.
        await queue.add({ queue: QUEUES.dead, name: job.name, data: job.data, jobId: id }).catch((restoreErr: unknown) => {
          log.error({ err: restoreErr }, 'dead letter lost: replay failed and the letter could not be restored');
        });
        log.warn({ err }, 'dead-letter replay failed; letter kept');
        throw err;
      }
      log.info({ code: letter.error.code, attempts: letter.attempts }, 'dead letter replayed');
      return reply.code(202).send({ executionId, nodeId });
    },
  );
  return Promise.resolve();
};
