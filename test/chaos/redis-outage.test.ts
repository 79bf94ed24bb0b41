/**
 * A Redis outage on the start path (architecture.md, "What a refused start leaves behind"): the
 * api and a worker run on a redis-server of this test's own (with an append-only file, so a stop
 * and a start are a restart), which is stopped for about 15 s in the middle of 100 starts. Every
 * start is answered promptly; every 202 completes once Redis is back; no start answered 503
 * ever runs: it has no row in Postgres and no event in Redis.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type JsonResponse } from '../helpers/http.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-services.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const STARTS = 100;
const STOP_AT = 20;
const RESTART_AT = 80;
/** The outage's shape: starts this far apart while Redis is down make it last about 15 s. */
const OUTAGE_PACE_MS = 250;
/** A generous upper bound on one start's answer, Redis down or not (the api gives up after 2 s). */
const ANSWER_BOUND_MS = 6000;

describe('Redis outage on the start path', () => {
  let svc: TestServices;
  let redis: PrivateRedis;
  let stack: DistributedStack;
  let db: pg.Client;

  beforeAll(async () => {
    svc = await createTestServices();
    redis = await startPrivateRedis({ persist: true });
    stack = await startDistributedStack({
      redisUrl: redis.url, databaseUrl: svc.databaseUrl, prefix: svc.prefix, workers: ['w-redis-outage'],
      env: {
        // Starts admitted before Redis failed under them are enqueued by the sweep, soon.
        WEFT_SWEEP_INTERVAL_MS: '500', WEFT_SWEEP_MIN_AGE_MS: '2000',
        // Jobs whose worker lost Redis mid-run are handed back soon after it returns.
        WEFT_QUEUE_LOCK_MS: '5000', WEFT_QUEUE_STALLED_INTERVAL_MS: '1000',
      },
    });
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    redis?.destroy();
    await svc?.cleanup();
  });

  it('answers every start promptly, runs every 202 and never runs a 503', async () => {
    const call = apiClient(stack.baseUrl, await stack.createWorkspace('redis-outage'));
    const flow = await call('POST', '/v1/flows', { name: 'outage', nodes: [{ id: 't', type: 'transform', expression: 'input.i * 2' }] });
    expect(flow.status).toBe(201);
    const flowId = flow.body.id as string;
    // An execution that ended before the outage: its document is whole in Postgres.
    const probeFlow = await call('POST', '/v1/flows', { name: 'ended-before', nodes: [{ id: 't', type: 'transform', expression: '"done"' }] });
    const ended = (await call('POST', `/v1/flows/${probeFlow.body.id as string}/executions`, {})).body.executionId as string;
    await waitFor(async () => (await db.query("select 1 from executions where id = $1 and status = 'completed'", [ended])).rows.length === 1,
      { timeoutMs: 30_000, message: 'the probe execution flushed' });
    // One that is live (waiting) during the outage: its document is in Redis.
    const waitFlow = await call('POST', '/v1/flows', { name: 'live-during', nodes: [{ id: 'w', type: 'wait', durationMs: 600_000 }] });
    const live = (await call('POST', `/v1/flows/${waitFlow.body.id as string}/executions`, {})).body.executionId as string;
    await waitFor(async () => (await call('GET', `/v1/executions/${live}`)).body.status === 'waiting', { timeoutMs: 30_000, message: 'the live probe waiting' });

    const answers: Array<JsonResponse & { i: number }> = [];
    for (let i = 0; i < STARTS; i += 1) {
      if (i === STOP_AT) {
        redis.stop();
        // Reads of what ended need no Redis.
        const read = await call('GET', `/v1/executions/${ended}`);
        expect(read.status, JSON.stringify(read.body)).toBe(200);
        expect(read.body).toMatchObject({ status: 'completed', output: { t: 'done' } });
        // What needs Redis answers 503 with Retry-After, not a 500.
        const liveRead = await call('GET', `/v1/executions/${live}`);
        expect(liveRead.status, JSON.stringify(liveRead.body)).toBe(503);
        expect(liveRead.body.error.code).toBe('dependency_unavailable');
        expect(Number(liveRead.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      if (i === RESTART_AT) {
        await redis.start();
        // The api reconnects on its own (ioredis backs off up to 2 s): continue once it says it is ready.
        await waitFor(async () => (await fetch(`${stack.baseUrl}/health/ready`)).ok, { timeoutMs: 30_000, message: 'api ready again' });
      }
      const res = await call('POST', `/v1/flows/${flowId}/executions`, { input: { i } });
      answers.push({ ...res, i });
      if (i >= STOP_AT && i < RESTART_AT) await new Promise((r) => setTimeout(r, OUTAGE_PACE_MS));
    }

    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 503);
    expect(answers.filter((a) => a.status !== 202 && a.status !== 503).map((a) => [a.i, a.status, a.body])).toEqual([]);
    for (const a of answers) expect(a.ms, `start ${a.i}`).toBeLessThan(ANSWER_BOUND_MS);
    // The outage was on the start path: some refused, and the starts before and after it accepted.
    expect(refused.length).toBeGreaterThan(0);
    expect(answers.slice(0, STOP_AT).every((a) => a.status === 202)).toBe(true);
    expect(answers.slice(RESTART_AT).every((a) => a.status === 202)).toBe(true);
    for (const a of refused) {
      expect(a.body.error.code).toBe('dependency_unavailable');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    // Every 202 completes once Redis is back.
    const acceptedIds = new Map(accepted.map((a) => [a.body.executionId as string, a.i]));
    await waitFor(async () => {
      const r = await db.query<{ n: string }>("select count(*) as n from executions where flow_id = $1 and status = 'completed'", [flowId]);
      return Number(r.rows[0]?.n) === accepted.length;
    }, { timeoutMs: 90_000, intervalMs: 250, message: 'every accepted start completed' }).catch(async (err: unknown) => {
      const r = await db.query("select id, status, (input->>'i')::int as i, created_at, updated_at from executions where flow_id = $1 and status <> 'completed'", [flowId]);
      process.stderr.write(`stuck: ${JSON.stringify(r.rows)}\naccepted (i, ms): ${JSON.stringify(answers.filter((a) => a.status === 202).map((a) => [a.i, a.ms]))}\n`);
      const c = new Redis(redis.url);
      for (const row of r.rows) process.stderr.write(`keys of ${String(row.id)}: ${JSON.stringify(await c.keys(`*${String(row.id)}*`))} meta ${JSON.stringify(await c.hgetall(`${svc.prefix}:{${String(row.id)}}:meta`))}\n`);
      await c.quit();
      throw err;
    });

    // No 503 ever runs: Postgres holds exactly the accepted starts, each with its own input…
    const rows = await db.query<{ id: string; i: number; status: string }>("select id, (input->>'i')::int as i, status from executions where flow_id = $1", [flowId]);
    expect(rows.rows.map((r) => r.i).sort((x, y) => x - y)).toEqual(accepted.map((a) => a.i));
    for (const row of rows.rows) expect(acceptedIds.get(row.id)).toBe(row.i);
    const runs = await db.query<{ execution_id: string }>('select execution_id from node_runs where flow_id = $1', [flowId]);
    expect(runs.rows.length).toBe(accepted.length);
    expect(runs.rows.every((r) => acceptedIds.has(r.execution_id))).toBe(true);

    // …and Redis holds events of no other execution.
    const client = new Redis(redis.url);
    try {
      const streams = await client.keys(`${svc.prefix}:{*}:events`);
      const withEvents = new Set<string>();
      for (const key of streams) {
        for (const [, fields] of await client.xrange(key, '-', '+')) {
          const body = JSON.parse(fields[1] ?? '{}') as { executionId?: string; flowId?: string };
          if (body.flowId === flowId && body.executionId) withEvents.add(body.executionId);
        }
      }
      expect([...withEvents].filter((id) => !acceptedIds.has(id))).toEqual([]);
      expect(withEvents.size).toBe(accepted.length);
    } finally {
      await client.quit();
    }
  }, 240_000);

  it('answers within the command timeout while Redis accepts connections but answers nothing, and leaves nothing behind', async () => {
    const key = await stack.createWorkspace('redis-paused');
    const call = apiClient(stack.baseUrl, key);
    const workspaceId = (await call('GET', '/v1/workspace')).body.id as string;
    const flow = await call('POST', '/v1/flows', { name: 'paused', nodes: [{ id: 't', type: 'transform', expression: 'input.i' }] });
    const flowId = flow.body.id as string;

    redis.pause();
    const refused: JsonResponse[] = [];
    try {
      for (let i = 0; i < 5; i += 1) refused.push(await call('POST', `/v1/flows/${flowId}/executions`, { input: { i } }));
    } finally {
      redis.resume();
    }
    for (const res of refused) {
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.error.code).toBe('dependency_unavailable');
      expect(res.ms).toBeLessThan(ANSWER_BOUND_MS);
    }
    await waitFor(async () => (await fetch(`${stack.baseUrl}/health/ready`)).ok, { timeoutMs: 30_000, message: 'api ready again' });
    const done = await call('POST', `/v1/flows/${flowId}/executions`, { input: { i: 99 }, wait: true, timeoutMs: 30_000 });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.output).toEqual({ t: 99 });

    // The admissions Redis applied once it woke up were withdrawn in order behind them: no row,
    // no event, no slot of the workspace's cap.
    const rows = await db.query<{ i: number }>("select (input->>'i')::int as i from executions where flow_id = $1", [flowId]);
    expect(rows.rows.map((r) => r.i)).toEqual([99]);
    const client = new Redis(redis.url);
    try {
      await waitFor(async () => (await client.scard(`${svc.prefix}:inflight:{${workspaceId}}`)) === 0, { timeoutMs: 30_000, message: 'nothing in flight' });
      const ids = new Set<string>();
      for (const streamKey of await client.keys(`${svc.prefix}:{*}:events`)) {
        for (const [, fields] of await client.xrange(streamKey, '-', '+')) {
          const body = JSON.parse(fields[1] ?? '{}') as { executionId?: string; flowId?: string };
          if (body.flowId === flowId && body.executionId) ids.add(body.executionId);
        }
      }
      expect([...ids]).toEqual([done.body.id]);
    } finally {
      await client.quit();
    }
  }, 120_000);
});
