/**
 * Liveness and readiness, open (no key). Readiness probes Postgres and every extra check of
 * the deps bag (Redis in distributed mode), each bounded by a timeout so that a hung
 * dependency answers 503 instead of hanging the probe.
 */
import { WeftError } from '@weft/shared/errors';
import { Type } from 'typebox';
import type { ReadinessCheck } from '../deps.js';
import type { RoutePlugin } from '../fastify-types.js';
import { errorResponses } from '../schemas/common-schemas.js';

export const READINESS_TIMEOUT_MS = 2000;

const StatusSchema = Type.Object({ status: Type.Literal('ok') });

const ReadySchema = Type.Object({
  status: Type.Literal('ok'),
  checks: Type.Record(Type.String(), Type.Literal('ok'), { description: 'Every probed dependency, e.g. {postgres: "ok", redis: "ok"}' }),
});

async function withTimeout(check: () => Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`no answer within ${ms} ms`)); }, ms);
  });
  try {
    await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: RoutePlugin = (app, { deps }) => {
  const checks: ReadinessCheck[] = [{ name: 'postgres', check: () => deps.database.ping() }, ...(deps.readiness ?? [])];
  const open = { tags: ['operations'], security: [] };

  for (const url of ['/health', '/health/live']) {
    app.get(url, { schema: { ...open, summary: 'Liveness: the process is up', response: { 200: StatusSchema } } }, () => ({ status: 'ok' as const }));
  }

  app.get(
    '/health/ready',
    { schema: { ...open, summary: 'Readiness: Postgres and Redis are reachable', response: { 200: ReadySchema, ...errorResponses() } } },
    async (request) => {
      const results = await Promise.all(
        checks.map(async ({ name, check }) => {
          try {
            await withTimeout(check, READINESS_TIMEOUT_MS);
            return { name, error: null };
          } catch (err) {
            return { name, error: err };
          }
        }),
      );
      const failing = results.filter((r) => r.error !== null);
      if (failing.length > 0) {
        request.log.warn({ failing: failing.map((f) => ({ name: f.name, err: f.error })) }, 'readiness check failed');
        throw new WeftError('DEPENDENCY_UNAVAILABLE', `unavailable: ${failing.map((f) => f.name).join(', ')}`, {
          details: failing.map((f) => ({ path: `/checks/${f.name}`, message: `${f.name} is unreachable` })),
          retryAfterMs: 5000,
        });
      }
      return { status: 'ok' as const, checks: Object.fromEntries(results.map((r) => [r.name, 'ok' as const])) };
    },
  );
  return Promise.resolve();
};
