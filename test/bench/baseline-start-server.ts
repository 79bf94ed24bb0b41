/**
 * Start-path baselines, in a process of their own like Weft's api: a bare Fastify app with
 * `POST /add` (one BullMQ `queue.add`) and `POST /insert-add` (the insert of an executions row,
 * as Weft's start route does, then the same `queue.add`): what accepting a start costs at least,
 * without and with durability. Same Redis and Postgres as Weft. Environment: PORT, REDIS_URL,
 * DATABASE_URL, BENCH_PREFIX, BENCH_WORKSPACE_ID, BENCH_FLOW_ID.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const workspaceId = required('BENCH_WORKSPACE_ID');
  const flowId = required('BENCH_FLOW_ID');
  const connection = new Redis(required('REDIS_URL'), { maxRetriesPerRequest: 1 });
  const queue = new Queue('bench-start', { connection, prefix: `{${required('BENCH_PREFIX')}-start}` });
  // Weft's pool size (node-postgres default).
  const pool = new pg.Pool({ connectionString: required('DATABASE_URL'), max: 10 });
  const jobOptions = { attempts: 20, backoff: { type: 'exponential', delay: 50 }, removeOnComplete: true, removeOnFail: true };
  const app = Fastify({ logger: false });

  app.post('/add', async (request, reply) => {
    const executionId = randomUUID();
    await queue.add('execution', { executionId, workspaceId, input: request.body }, { ...jobOptions, jobId: executionId });
    return reply.code(202).send({ executionId });
  });
  app.post('/insert-add', async (request, reply) => {
    const executionId = randomUUID();
    const now = new Date();
    await pool.query(
      'insert into executions (id, workspace_id, flow_id, flow_version, status, input, created_at, updated_at) ' +
      "values ($1, $2, $3, 1, 'queued', $4, $5, $5) on conflict do nothing returning *",
      [executionId, workspaceId, flowId, JSON.stringify((request.body as { input?: unknown } | null)?.input ?? null), now],
    );
    await queue.add('execution', { executionId, workspaceId }, { ...jobOptions, jobId: executionId });
    return reply.code(202).send({ executionId });
  });
  app.get('/health', () => ({ ok: true }));

  await app.listen({ host: '127.0.0.1', port: Number(required('PORT')) });
  const stop = (): void => {
    void app.close().finally(async () => {
      await queue.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      connection.disconnect();
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline start server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
