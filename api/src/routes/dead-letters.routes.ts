/**
 * Dead letters (api.md, "Executions"): nodes that failed for good are parked by the worker in
 * `weft-dead` (job id `<nodeJobId>.dead`). The queue is shared by every workspace, so each
 * answer is filtered by the letter's own `workspaceId`; another workspace's letter is a 404.
 *
 * A letter is `resolved` once its node has since completed (an execution retry, or a replay of
 * another letter of it): it is read from where the node stands now (hot state while the
 * execution has one, else its node runs in Postgres), so no write path has to find the letter.
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

const LetterStatus = Type.Union([Type.Literal('open'), Type.Literal('resolved')], {
  description: '`open`: the node still stands failed (or runs again); `resolved`: it has since completed (a retry or a replay)',
});
type LetterStatus = 'open' | 'resolved';

const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_LIMIT })),
  status: Type.Optional(LetterStatus),
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
  status: LetterStatus,
  resolvedAt: Type.Union([DateTime, Type.Null()], { description: 'When the run that resolved it finished; null while open' }),
}, { title: 'DeadLetter' });

const ListResponse = Type.Object({ items: Type.Array(DeadLetterSchema, { description: 'Newest first' }) });
const ReplayAnswer = Type.Object({
  executionId: Type.String(),
  nodeId: Type.String(),
  outcome: Type.Union([Type.Literal('replayed'), Type.Literal('resolved')], {
    description: '`replayed` (202): the node runs again; `resolved` (200): it has already completed since, nothing is re-run',
  }),
}, { title: 'DeadLetterReplay' });

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

interface Standing {
  status: LetterStatus;
  resolvedAt: string | null;
}
const OPEN: Standing = { status: 'open', resolvedAt: null };

function view(id: string, letter: DeadLetterJobData, standing: Standing) {
  return { id, executionId: letter.executionId, nodeId: letter.nodeId, error: letter.error, attempts: letter.attempts, failedAt: letter.failedAt, ...standing };
}

/** Where a node stands now, by node id: its result's status and end (hot state is ahead of Postgres). */
type NodeStandings = Map<string, { status: string; finishedAt: string | null }>;

export const deadLettersRoutes: RoutePlugin = (app, { deps }) => {
  const { queue, state } = deps;
  const { repos } = deps.database;

  async function nodeStandings(executionId: string): Promise<NodeStandings> {
    const hot = await state.getExecution(executionId);
    if (hot) {
      return new Map(Object.entries(hot.nodes).map(([id, n]) => [id, { status: n.result?.status ?? n.status, finishedAt: n.result?.finishedAt ?? null }]));
    }
    const runs = await repos.nodeRuns.listByExecution(executionId);
    return new Map(runs.map((r) => [r.nodeId, { status: r.status, finishedAt: r.finishedAt?.toISOString() ?? null }]));
  }

  /** Each letter's standing; one look-up per execution however many of its letters are asked about. */
  function standingsOf(): (letter: DeadLetterJobData) => Promise<Standing> {
    const byExecution = new Map<string, Promise<NodeStandings>>();
    return async (letter) => {
      let nodes = byExecution.get(letter.executionId);
      if (!nodes) {
        nodes = nodeStandings(letter.executionId);
        byExecution.set(letter.executionId, nodes);
      }
      const now = (await nodes).get(letter.nodeId);
      return now?.status === 'completed' ? { status: 'resolved', resolvedAt: now.finishedAt } : OPEN;
    };
  }

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
        summary: 'Nodes that failed after their last attempt, newest first, open or resolved',
        querystring: ListQuery,
        response: { 200: ListResponse, ...errorResponses() },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_PAGE_LIMIT;
      const wanted = request.query.status;
      const standing = standingsOf();
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
          else if (letter.workspaceId === request.workspaceId) {
            const now = await standing(letter);
            if (wanted === undefined || now.status === wanted) items.push(view(job.id, letter, now));
          }
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
        summary: 'Re-run the node of a dead letter (a resolved letter answers 200 and re-runs nothing)',
        params: IdParams,
        response: { 200: ReplayAnswer, 202: ReplayAnswer, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request;
      const { id } = request.params;
      const { job, letter } = await findOwn(workspaceId, id);
      const { executionId, nodeId } = letter;
      const log = request.log.child({ deadLetterId: id, executionId, nodeId });
      // The node has completed since (a retry): there is nothing to re-run, and the letter stays listed as resolved.
      if ((await standingsOf()(letter)).status === 'resolved') {
        log.info('dead letter already resolved: nothing replayed');
        deps.metrics.deadLetterReplaysTotal.inc({ outcome: 'resolved' });
        return reply.code(200).send({ executionId, nodeId, outcome: 'resolved' });
      }
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
      deps.metrics.deadLetterReplaysTotal.inc({ outcome: 'replayed' });
      return reply.code(202).send({ executionId, nodeId, outcome: 'replayed' });
    },
  );
  return Promise.resolve();
};
