/**
 * API keys and workspace deletion on a distributed fleet in one process: two api instances and a
 * worker on one Redis prefix and one Postgres database (in-process-fleet.ts).
 * - A key revoked through one api is refused by the other within a few seconds, though the other
 *   had it cached (the cache TTL is far longer: the control-bus message is what drops it). The
 *   same for a worker token (the task protocol's credential), whose lookups the cache answers.
 * - DELETE /v1/workspaces/:id: the keys answer 401 at once, the live executions are cancelled,
 *   and afterwards no table with a workspace_id column (read from information_schema, so new
 *   tables are covered) and no Redis key (SCAN of everything under the prefix) holds anything of
 *   the workspace, while another workspace is intact.
 * - A deletion left unfinished (the api died after marking the workspace) is completed by the next
 *   api that starts.
 */
import pg from 'pg';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from '@weft/shared/adapters/redis';
import { FLEET_ADMIN_TOKEN, inProcessFleet, type FleetApi, type InProcessFleet } from '../helpers/in-process-fleet.js';
import { redisForSuite } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/** Building three instances (module graph, pools, BullMQ connections) on a loaded 2-core machine. */
const FLEET_START_MS = 120_000;
/** How soon another api instance must refuse a revoked key: a polling bound, not a measurement. */
const REVOCATION_BOUND_MS = 3_000;

type Headers = Record<string, string>;

function bearer(token: string): Headers {
  return { authorization: `Bearer ${token}` };
}

async function call(api: FleetApi, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string, payload?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await api.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return { status: res.statusCode, body: res.body === '' ? {} : res.json<Record<string, unknown>>() };
}

async function createWorkspace(api: FleetApi, name: string): Promise<{ id: string; apiKey: string }> {
  const res = await call(api, 'POST', '/v1/workspaces', FLEET_ADMIN_TOKEN, { name });
  expect(res.status).toBe(201);
  return res.body as { id: string; apiKey: string };
}

/** Every row of every table with a workspace_id column (and the workspace's own row) that names the workspace. */
async function rowsOf(db: pg.Client, workspaceId: string): Promise<Record<string, number>> {
  const tables = await db.query<{ table_name: string }>(
    `select table_name from information_schema.columns where table_schema = 'public' and column_name = 'workspace_id' order by table_name`,
  );
  expect(tables.rows.length).toBeGreaterThanOrEqual(6);
  const counts: Record<string, number> = {};
  for (const { table_name: table } of tables.rows) {
    const res = await db.query<{ n: number }>(`select count(*)::int as n from "${table}" where workspace_id = $1`, [workspaceId]);
    counts[table] = res.rows[0]?.n ?? 0;
  }
  counts.workspaces = (await db.query<{ n: number }>('select count(*)::int as n from workspaces where id = $1', [workspaceId])).rows[0]?.n ?? 0;
  return counts;
}

/** What a Redis key holds, as text, whatever its type. */
async function contentOf(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case 'string': return (await redis.get(key)) ?? '';
    case 'hash': return JSON.stringify(await redis.hgetall(key));
    case 'list': return JSON.stringify(await redis.lrange(key, '0', '-1'));
    case 'set': return JSON.stringify(await redis.smembers(key));
    case 'zset': return JSON.stringify(await redis.zrange(key, '0', '-1'));
    case 'stream': return JSON.stringify(await redis.xrange(key, '-', '+'));
    default: return '';
  }
}

/** Every key under the prefix (Weft's and BullMQ's) whose name or content names the workspace or one of its executions. */
async function redisKeysOf(redis: Redis, prefix: string, needles: { workspaceId: string; executionIds: readonly string[] }): Promise<string[]> {
  const found: string[] = [];
  for (const match of [`${prefix}:*`, `{${prefix}}:*`]) {
    for await (const keys of redis.scanStream({ match, count: 1000 }) as AsyncIterable<string[]>) {
      for (const key of keys) {
        if (key.includes(needles.workspaceId) || needles.executionIds.some((id) => key.includes(id))) {
          found.push(key);
          continue;
        }
        if ((await contentOf(redis, key)).includes(needles.workspaceId)) found.push(key);
      }
    }
  }
  return found.sort();
}

describe('API keys and workspace deletion across api instances', () => {
  const suite = redisForSuite();
  let fleet: InProcessFleet;
  let a: FleetApi;
  let b: FleetApi;
  let db: pg.Client;

  beforeAll(async () => {
    // A key cache far longer than the bound: only the revocation message can make the test pass.
    fleet = inProcessFleet({ redisUrl: suite.svc.redisUrl, databaseUrl: suite.svc.databaseUrl, prefix: suite.svc.prefix, env: { WEFT_API_KEY_CACHE_TTL_MS: '600000', WEFT_CLAIM_CHECK_BYTES: '1024' } });
    a = await fleet.startApi();
    b = await fleet.startApi();
    await fleet.startWorker('w1');
    db = new pg.Client({ connectionString: suite.svc.databaseUrl });
    await db.connect();
  }, FLEET_START_MS);

  afterAll(async () => {
    await db.end();
    await fleet.close();
  });

  it('refuses a key revoked through one api on the other within a few seconds, though it was cached there', async () => {
    const ws = await createWorkspace(a, 'rotation');
    const created = await call(a, 'POST', '/v1/api-keys', ws.apiKey, { name: 'deploy' });
    expect(created.status).toBe(201);
    const key = created.body as { id: string; apiKey: string };
    // b authenticates the key once: it is in b's cache now.
    expect((await call(b, 'GET', '/v1/api-keys', key.apiKey)).status).toBe(200);
    const hits = (await b.metrics.apiKeyCacheTotal.get()).values.find((v) => v.labels.result === 'hit')?.value ?? 0;
    expect((await call(b, 'GET', '/v1/workspace', key.apiKey)).status).toBe(200);
    expect((await b.metrics.apiKeyCacheTotal.get()).values.find((v) => v.labels.result === 'hit')?.value).toBe(hits + 1);

    // Rotation: the new key revokes the old one through a.
    expect((await call(a, 'DELETE', `/v1/api-keys/${key.id}`, ws.apiKey)).status).toBe(204);
    expect((await call(a, 'GET', '/v1/workspace', key.apiKey)).status).toBe(401);
    await waitFor(async () => (await call(b, 'GET', '/v1/workspace', key.apiKey)).status === 401, { timeoutMs: REVOCATION_BOUND_MS, message: 'b refuses the revoked key' });
    expect((await call(b, 'GET', '/v1/workspace', ws.apiKey)).status).toBe(200);
    const listed = (await call(b, 'GET', '/v1/api-keys', ws.apiKey)).body.items as { id: string }[];
    expect(listed.map((k) => k.id)).not.toContain(key.id);
    expect(a.logs.join('')).toContain('API key revoked');
    expect(a.logs.join('')).not.toContain(key.apiKey);
  });

  it('answers a worker token from the cache, and refuses one revoked through the other api within a few seconds', async () => {
    const ws = await createWorkspace(a, 'worker-tokens');
    const created = await call(a, 'POST', '/v1/worker-tokens', ws.apiKey, { name: 'gpu-box', handlers: ['image.resize'] });
    expect(created.status).toBe(201);
    const token = created.body as { id: string; token: string };
    const counts = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await b.metrics.workerTokenCacheTotal.get()).values.map((v) => [String(v.labels.result), v.value]));
    const claim = (): Promise<{ status: number }> => call(b, 'POST', '/v1/tasks/claim', token.token, { handlers: ['image.resize'] });
    const before = await counts();
    expect((await claim()).status).toBe(204);
    expect((await claim()).status).toBe(204);
    expect((await claim()).status).toBe(204);
    const after = await counts();
    // One Postgres read, then the cache: a worker's heartbeats cost no lookup.
    expect((after.miss ?? 0) - (before.miss ?? 0)).toBe(1);
    expect((after.hit ?? 0) - (before.hit ?? 0)).toBe(2);

    expect((await call(a, 'DELETE', `/v1/worker-tokens/${token.id}`, ws.apiKey)).status).toBe(204);
    await waitFor(async () => (await claim()).status === 401, { timeoutMs: REVOCATION_BOUND_MS, message: 'b refuses the revoked worker token' });
    expect((await counts()).invalidated ?? 0).toBeGreaterThanOrEqual(1);
    expect(a.logs.join('') + b.logs.join('')).not.toContain(token.token);
  });

  it('deletes a workspace and everything it owns, in the background, and leaves another intact', async () => {
    const doomed = await createWorkspace(a, 'doomed');
    const kept = await createWorkspace(a, 'kept');
    const second = (await call(a, 'POST', '/v1/api-keys', doomed.apiKey, { name: 'second' })).body as { apiKey: string };
    const executionIds: Record<string, string[]> = { [doomed.id]: [], [kept.id]: [] };
    for (const ws of [doomed, kept]) {
      expect((await call(a, 'PUT', '/v1/secrets/TOKEN', ws.apiKey, { value: 'secret-value-123' })).status).toBe(204);
      expect((await call(a, 'PUT', '/v1/credentials/openai', ws.apiKey, { apiKey: 'sk-test-0123456789abcdef' })).status).toBeLessThan(300);
      const quick = await call(a, 'POST', '/v1/flows', ws.apiKey, { name: 'quick', nodes: [{ id: 't', type: 'transform', expression: '{"n": input.n + 1, "pad": $pad("", 2000, "x")}' }], edges: [] });
      const waiting = await call(a, 'POST', '/v1/flows', ws.apiKey, { name: 'approval', nodes: [{ id: 'approve', type: 'wait', event: 'approval' }], edges: [] });
      const done = await call(a, 'POST', `/v1/flows/${quick.body.id as string}/executions`, ws.apiKey, { input: { n: 1 }, wait: true });
      expect(done.body.status).toBe('completed');
      const live = await call(a, 'POST', `/v1/flows/${waiting.body.id as string}/executions`, ws.apiKey, { input: {} });
      const liveId = live.body.executionId as string;
      await waitFor(async () => (await call(a, 'GET', `/v1/executions/${liveId}`, ws.apiKey)).body.status === 'waiting', { timeoutMs: 20_000, message: 'execution waiting' });
      executionIds[ws.id]?.push(done.body.id as string, liveId);
    }
    // The provider rate limiter's windows of both workspaces, as a worker's LLM calls leave them.
    const limiter = new RedisRateLimiter({ redis: suite.redis, prefix: suite.svc.prefix });
    for (const ws of [doomed, kept]) expect((await limiter.acquire({ key: `${ws.id}/openai`, rule: { requestsPerMinute: 100 }, leaseMs: 60_000 })).ok).toBe(true);
    const keptWindows = await suite.redis.keys(`${suite.svc.prefix}:{rl:${kept.id}/*`);
    expect(keptWindows.length).toBeGreaterThan(0);
    const [, doomedLive] = executionIds[doomed.id] ?? [];
    const [, keptLive] = executionIds[kept.id] ?? [];
    const needles = { workspaceId: doomed.id, executionIds: executionIds[doomed.id] ?? [] };
    // The checks below see the workspace's data while it exists: they are not blind. The quick
    // flow's output is over the claim-check threshold: stored apart, in Redis and in Postgres.
    await waitFor(async () => (await rowsOf(db, doomed.id)).output_blobs === 1, { timeoutMs: 20_000, message: 'offloaded output flushed' });
    expect(await suite.redis.hlen(`${suite.svc.prefix}:{${executionIds[doomed.id]?.[0] ?? ''}}:blobs`)).toBe(1);
    expect(await rowsOf(db, doomed.id)).toMatchObject({ workspaces: 1, api_keys: 2, executions: 2, flows: 2, secrets: 1, provider_credentials: 1, output_blobs: 1 });
    expect(await redisKeysOf(suite.redis, suite.svc.prefix, needles)).not.toEqual([]);
    expect((await call(a, 'GET', '/v1/queues', doomed.apiKey)).body).toEqual({ scope: 'workspace', executions: { queued: 0, running: 0, waiting: 1 } });

    const cancelled: string[] = [];
    const unsubscribe = await b.resources.events.subscribe((event) => { if (event.type === 'execution.cancelled') cancelled.push(event.executionId); });
    try {
      expect((await call(a, 'DELETE', `/v1/workspaces/${doomed.id}`, doomed.apiKey)).status).toBe(401);
      const res = await call(b, 'DELETE', `/v1/workspaces/${doomed.id}`, FLEET_ADMIN_TOKEN);
      expect(res).toEqual({ status: 202, body: { id: doomed.id, status: 'deleting' } });
      // Its keys answer 401 at once on the instance that deleted it, and within the bound elsewhere.
      expect((await call(b, 'GET', '/v1/workspace', doomed.apiKey)).status).toBe(401);
      expect((await call(b, 'GET', '/v1/workspace', second.apiKey)).status).toBe(401);
      await waitFor(async () => (await call(a, 'GET', '/v1/workspace', doomed.apiKey)).status === 401, { timeoutMs: REVOCATION_BOUND_MS, message: 'a refuses the deleted workspace key' });

      await waitFor(async () => (await rowsOf(db, doomed.id)).workspaces === 0, { timeoutMs: 30_000, message: 'workspace row deleted' });
      expect(cancelled).toContain(doomedLive);
      expect(Object.entries(await rowsOf(db, doomed.id)).filter(([, n]) => n > 0)).toEqual([]);
      // The flusher may still be writing (and dropping) what the cancel left in the flush log.
      await waitFor(async () => (await redisKeysOf(suite.redis, suite.svc.prefix, needles)).length === 0, { timeoutMs: 15_000, message: `no Redis key of the workspace: ${(await redisKeysOf(suite.redis, suite.svc.prefix, needles)).join(', ')}` });
    } finally {
      await unsubscribe();
    }
    expect((await call(a, 'DELETE', `/v1/workspaces/${doomed.id}`, FLEET_ADMIN_TOKEN)).status).toBe(404);

    // The other workspace is whole: its rows, its waiting execution (hot state included), its keys.
    const keptRows = await rowsOf(db, kept.id);
    expect(keptRows).toMatchObject({ workspaces: 1, executions: 2, flows: 2, secrets: 1, provider_credentials: 1, api_keys: 1, output_blobs: 1 });
    expect(cancelled).not.toContain(keptLive);
    expect((await call(a, 'GET', `/v1/executions/${keptLive ?? ''}`, kept.apiKey)).body.status).toBe('waiting');
    expect(await suite.redis.exists(`${suite.svc.prefix}:{${keptLive ?? ''}}:meta`)).toBe(1);
    expect(await suite.redis.exists(...keptWindows)).toBe(keptWindows.length);
    expect((await call(a, 'GET', '/v1/queues', kept.apiKey)).body).toEqual({ scope: 'workspace', executions: { queued: 0, running: 0, waiting: 1 } });
    const deletions = (await b.metrics.workspaceDeletionsTotal.get()).values.find((v) => v.labels.event === 'requested')?.value;
    expect(deletions).toBe(1);
  }, 90_000);

  it('completes, at the next api start, a deletion whose api died before enqueueing it', async () => {
    const ws = await createWorkspace(a, 'orphaned');
    const flow = await call(a, 'POST', '/v1/flows', ws.apiKey, { name: 'quick', nodes: [{ id: 't', type: 'transform', expression: '1' }], edges: [] });
    expect((await call(a, 'POST', `/v1/flows/${flow.body.id as string}/executions`, ws.apiKey, { wait: true })).body.status).toBe('completed');
    // What DELETE does before it enqueues: the mark (and the keys' deletion), then nothing.
    expect(await a.resources.database.repos.workspaces.markDeleting(ws.id)).toBe(true);
    expect((await rowsOf(db, ws.id)).executions).toBe(1);
    const c = await fleet.startApi();
    await waitFor(async () => (await rowsOf(db, ws.id)).workspaces === 0, { timeoutMs: 30_000, message: 'the restarted api finished the deletion' });
    expect(Object.entries(await rowsOf(db, ws.id)).filter(([, n]) => n > 0)).toEqual([]);
    expect(c.logs.join('')).toContain('unfinished workspace deletions re-enqueued');
  }, FLEET_START_MS);

  it('scopes GET /v1/queues to the workspace, and serves fleet-wide counts to the admin token only', async () => {
    const ws = await createWorkspace(a, 'scoped');
    const mine = await call(a, 'GET', '/v1/queues', ws.apiKey);
    expect(mine).toEqual({ status: 200, body: { scope: 'workspace', executions: { queued: 0, running: 0, waiting: 0 } } });
    const fleetWide = await call(a, 'GET', '/v1/queues', FLEET_ADMIN_TOKEN);
    expect(fleetWide.body.scope).toBe('fleet');
    expect((fleetWide.body.items as { queue: string }[]).map((q) => q.queue)).toContain('weft-executions');
  });
});
