/**
 * Schedules and inbound webhooks through inject(), over real Postgres and the in-memory queue
 * (no worker: ticks are run through the real tick processor, and executions stay queued, which
 * fills the in-flight cap). The fleet-wide behaviour (api + 2 workers, a one-second cron) is in
 * test/e2e/triggers.test.ts; embedded mode across a restart in test/e2e/triggers-embedded.test.ts.
 */
import { createHmac } from 'node:crypto';
import { QUEUES, schedulerTickJobId, type JobContext } from '@weft/shared/ports';
import type { ScheduleTickJobData } from '@weft/shared/jobs';
import { createScheduleTickProcessor } from '@weft/shared/run-engine';
import { startSchedules } from '../services/schedules.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
/** Its own app: 4 requests per key (an API key's, a hook's) per window. */
let q: TestApp;
let db: pg.Client;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({
    databaseUrl: services.databaseUrl,
    env: { WEFT_SCHEDULES_PER_WORKSPACE: '3', WEFT_HOOKS_PER_WORKSPACE: '3', WEFT_SCHEDULE_MIN_INTERVAL_SECONDS: '60', WEFT_WORKSPACE_MAX_IN_FLIGHT: '3', WEFT_PUBLIC_URL: 'https://public.example' },
  });
  q = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_WORKSPACE_MAX_IN_FLIGHT: '3', WEFT_RATE_LIMIT_PER_KEY: '4' } });
  db = new pg.Client({ connectionString: services.databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await t?.close();
  await q?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

async function workspaceWithFlow(name: string, app: TestApp = t): Promise<{ key: string; flowId: string }> {
  const ws = await app.createWorkspace(name);
  const res = await app.app.inject({
    method: 'POST', url: '/v1/flows', headers: auth(ws.apiKey),
    payload: { name, nodes: [{ id: 'echo', type: 'transform', expression: 'input' }], edges: [] },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { key: ws.apiKey, flowId: res.json<{ id: string }>().id };
}

function tickJob(scheduleId: string, workspaceId: string, tickMs: number): JobContext<ScheduleTickJobData> {
  return { id: schedulerTickJobId(scheduleId, tickMs), name: 'schedule-tick', queue: QUEUES.schedules, data: { scheduleId, workspaceId }, attempt: 1, maxAttempts: 5, signal: new AbortController().signal };
}

const tick = () => createScheduleTickProcessor({ engine: t.deps.engine, repos: t.deps.database.repos, queue: t.deps.queue, logger: t.deps.logger, metrics: t.deps.metrics });

describe('schedules', () => {
  it('re-arms at start a schedule that lost its scheduler, with one catch-up tick for the newest missed time', async () => {
    const { key, flowId } = await workspaceWithFlow('schedule-rearm');
    const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/schedules`, headers: auth(key), payload: { cron: '0 * * * *' } });
    const { id } = res.json<{ id: string }>();
    // As after a restart of embedded mode: no timer, and the last tick hours ago.
    await t.deps.queue.removeScheduler(QUEUES.schedules, id);
    await db.query("update schedules set last_tick_at = now() - interval '5 hours' where id = $1", [id]);
    await startSchedules(t.deps).done;
    expect(await t.deps.queue.hasScheduler(QUEUES.schedules, id)).toBe(true);
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const jobs = await t.deps.queue.list(QUEUES.schedules, { limit: 100 });
    expect(jobs.filter((j) => j.id.startsWith(`repeat:${id}:`)).map((j) => j.id)).toEqual([schedulerTickJobId(id, hour)]);
    // Once its tick is recorded, a later start has nothing to catch up.
    await db.query('update schedules set last_tick_at = $2 where id = $1', [id, new Date(hour)]);
    await t.deps.queue.removeScheduler(QUEUES.schedules, id);
    await startSchedules(t.deps).done;
    expect((await t.deps.queue.list(QUEUES.schedules, { limit: 100 })).filter((j) => j.id.startsWith(`repeat:${id}:`))).toHaveLength(1);
  });

  it('validates cron and time zone with a JSON path, and bounds the interval and the count', async () => {
    const { key, flowId } = await workspaceWithFlow('schedule-checks');
    const create = (payload: object) => t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/schedules`, headers: auth(key), payload });
    const bad = await create({ cron: '61 * * * *' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'invalid_request', details: [{ path: '/cron' }] } });
    const fields = await create({ cron: '* *' });
    expect(fields.json()).toMatchObject({ error: { code: 'invalid_request', details: [{ path: '/cron' }] } });
    const zone = await create({ cron: '0 * * * *', timezone: 'Mars/Olympus' });
    expect(zone.json()).toMatchObject({ error: { code: 'invalid_request', details: [{ path: '/timezone' }] } });
    const often = await create({ cron: '*/10 * * * * *' });
    expect(often.statusCode).toBe(400);
    expect(often.json()).toMatchObject({ error: { code: 'schedule_interval_too_short', details: [{ path: '/cron' }] } });
    const extra = await create({ cron: '0 * * * *', every: 1 });
    expect(extra.statusCode).toBe(400);
    const missing = await t.app.inject({ method: 'POST', url: '/v1/flows/00000000-0000-4000-8000-000000000000/schedules', headers: auth(key), payload: { cron: '0 * * * *' } });
    expect(missing.statusCode).toBe(404);
    for (let i = 0; i < 3; i++) expect((await create({ cron: `${i} * * * *`, timezone: 'Europe/Paris' })).statusCode).toBe(201);
    const over = await create({ cron: '5 * * * *' });
    expect(over.statusCode).toBe(409);
    expect(over.json()).toMatchObject({ error: { code: 'schedule_limit_reached' } });
    const { rows } = await db.query<{ n: number }>('select count(*)::int as n from schedules s join flows f on f.id = s.flow_id where f.id = $1', [flowId]);
    expect(rows[0]?.n).toBe(3);
  });

  it('creates, lists, pauses, resumes and deletes a schedule, and its scheduler follows', async () => {
    const { key, flowId } = await workspaceWithFlow('schedule-crud');
    const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/schedules`, headers: auth(key), payload: { cron: '0 9 * * 1-5', timezone: 'Europe/Paris', input: { report: 'daily' } } });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json<{ id: string; nextTickAt: string; paused: boolean }>();
    expect(created).toMatchObject({ flowId, cron: '0 9 * * 1-5', timezone: 'Europe/Paris', input: { report: 'daily' }, paused: false, lastTickAt: null });
    expect(Date.parse(created.nextTickAt)).toBeGreaterThan(Date.now());
    expect(await t.deps.queue.hasScheduler(QUEUES.schedules, created.id)).toBe(true);

    const list = await t.app.inject({ method: 'GET', url: `/v1/flows/${flowId}/schedules`, headers: auth(key) });
    expect(list.json<{ items: Array<{ id: string }> }>().items.map((s) => s.id)).toEqual([created.id]);

    const paused = await t.app.inject({ method: 'PATCH', url: `/v1/schedules/${created.id}`, headers: auth(key), payload: { paused: true } });
    expect(paused.json()).toMatchObject({ paused: true, nextTickAt: null });
    expect(await t.deps.queue.hasScheduler(QUEUES.schedules, created.id)).toBe(false);
    const resumed = await t.app.inject({ method: 'PATCH', url: `/v1/schedules/${created.id}`, headers: auth(key), payload: { paused: false } });
    expect(resumed.json()).toMatchObject({ paused: false });
    expect(await t.deps.queue.hasScheduler(QUEUES.schedules, created.id)).toBe(true);

    // Another workspace sees none of it.
    const other = await t.createWorkspace('schedule-other');
    expect((await t.app.inject({ method: 'PATCH', url: `/v1/schedules/${created.id}`, headers: auth(other.apiKey), payload: { paused: true } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/schedules/${created.id}`, headers: auth(other.apiKey) })).statusCode).toBe(404);

    expect((await t.app.inject({ method: 'DELETE', url: `/v1/schedules/${created.id}`, headers: auth(key) })).statusCode).toBe(204);
    expect(await t.deps.queue.hasScheduler(QUEUES.schedules, created.id)).toBe(false);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/schedules/${created.id}`, headers: auth(key) })).statusCode).toBe(404);
  });

  it('a tick starts one execution per tick time, records the schedule on it, and skips at the in-flight cap', async () => {
    const { key, flowId } = await workspaceWithFlow('schedule-ticks');
    const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/schedules`, headers: auth(key), payload: { cron: '0 * * * *', input: { n: 1 } } });
    const schedule = res.json<{ id: string }>();
    const [row] = (await db.query<{ workspace_id: string }>('select workspace_id from schedules where id = $1', [schedule.id])).rows;
    const workspaceId = row?.workspace_id ?? '';
    const run = tick();
    const at = Date.parse('2026-01-01T10:00:00Z');
    await run(tickJob(schedule.id, workspaceId, at));
    await run(tickJob(schedule.id, workspaceId, at)); // a retried or redelivered tick job
    const executions = await db.query<{ id: string; schedule_id: string }>('select id, schedule_id from executions where flow_id = $1', [flowId]);
    expect(executions.rows).toHaveLength(1);
    const executionId = executions.rows[0]?.id ?? '';
    const view = await t.app.inject({ method: 'GET', url: `/v1/executions/${executionId}`, headers: auth(key) });
    expect(view.json()).toMatchObject({ scheduleId: schedule.id, input: { n: 1 } });

    // The cap is 3 executions in flight and nothing runs them: the fourth tick is skipped.
    for (let hour = 1; hour <= 3; hour++) await run(tickJob(schedule.id, workspaceId, at + hour * 3_600_000));
    const ticks = await t.app.inject({ method: 'GET', url: `/v1/schedules/${schedule.id}/ticks`, headers: auth(key) });
    const items = ticks.json<{ items: Array<{ tickAt: string; outcome: string; reason: string | null; executionId: string | null }> }>().items;
    expect(items.map((i) => [i.tickAt, i.outcome, i.reason])).toEqual([
      ['2026-01-01T13:00:00.000Z', 'skipped', 'workspace_quota'],
      ['2026-01-01T12:00:00.000Z', 'started', null],
      ['2026-01-01T11:00:00.000Z', 'started', null],
      ['2026-01-01T10:00:00.000Z', 'started', null],
    ]);
    expect(items[3]?.executionId).toBe(executionId);
    const metrics = await t.deps.metrics.registry.getSingleMetricAsString('weft_schedule_ticks_total');
    expect(metrics).toMatch(/outcome="skipped",reason="workspace_quota"[^\n]* 1/);
    expect(metrics).toMatch(/outcome="duplicate"/);

    // A tick of a deleted schedule starts nothing and removes its scheduler.
    await t.app.inject({ method: 'DELETE', url: `/v1/schedules/${schedule.id}`, headers: auth(key) });
    await t.deps.queue.upsertScheduler({ queue: QUEUES.schedules, schedulerId: schedule.id, pattern: '0 * * * *', timezone: 'UTC', name: 'schedule-tick', data: {} });
    await run(tickJob(schedule.id, workspaceId, at + 5 * 3_600_000));
    expect(await t.deps.queue.hasScheduler(QUEUES.schedules, schedule.id)).toBe(false);
  });
});

describe('triggers of a deleted flow', () => {
  it('a tick is skipped and pauses its schedule; a hook call answers 404', async () => {
    const { key, flowId } = await workspaceWithFlow('deleted-flow');
    const schedule = (await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/schedules`, headers: auth(key), payload: { cron: '0 * * * *' } })).json<{ id: string }>();
    const hook = (await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/hooks`, headers: auth(key), payload: {} })).json<{ token: string }>();
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/flows/${flowId}`, headers: auth(key) })).statusCode).toBe(204);
    const [row] = (await db.query<{ workspace_id: string }>('select workspace_id from schedules where id = $1', [schedule.id])).rows;
    await tick()(tickJob(schedule.id, row?.workspace_id ?? '', Date.parse('2026-01-01T10:00:00Z')));
    const ticks = (await t.app.inject({ method: 'GET', url: `/v1/schedules/${schedule.id}/ticks`, headers: auth(key) })).json<{ items: Array<{ outcome: string; reason: string | null }> }>();
    expect(ticks.items).toMatchObject([{ outcome: 'skipped', reason: 'flow_missing' }]);
    expect(await t.deps.queue.hasScheduler(QUEUES.schedules, schedule.id)).toBe(false);
    const [paused] = (await db.query<{ paused: boolean }>('select paused from schedules where id = $1', [schedule.id])).rows;
    expect(paused?.paused).toBe(true);
    const call = await t.app.inject({ method: 'POST', url: `/v1/hooks/${hook.token}`, headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(call.statusCode).toBe(404);
    expect(call.body).not.toContain(flowId);
  });
});

function githubSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

describe('inbound webhooks', () => {
  it('creates a hook shown once, starts the flow with the body and selected headers, and is revocable', async () => {
    const { key, flowId } = await workspaceWithFlow('hooks');
    const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/hooks`, headers: auth(key), payload: { name: 'github', headers: ['X-GitHub-Event'], signature: { scheme: 'github', secret: 'it-is-a-secret' } } });
    expect(res.statusCode, res.body).toBe(201);
    const hook = res.json<{ id: string; token: string; url: string; prefix: string }>();
    expect(hook).toMatchObject({ flowId, name: 'github', headers: ['x-github-event'], signatureScheme: 'github', lastUsedAt: null });
    expect(hook.url).toBe(`https://public.example/v1/hooks/${hook.token}`);
    expect(hook.token.startsWith(hook.prefix)).toBe(true);

    const body = JSON.stringify({ action: 'opened', number: 7 });
    const call = (headers: Record<string, string>, payload = body, query = '') => t.app.inject({ method: 'POST', url: `/v1/hooks/${hook.token}${query}`, headers: { 'content-type': 'application/json', ...headers }, payload });
    const started = await call({ 'x-hub-signature-256': githubSignature('it-is-a-secret', body), 'x-github-event': 'pull_request', 'x-other': 'no' });
    expect(started.statusCode, started.body).toBe(202);
    const { executionId } = started.json<{ executionId: string }>();
    const view = await t.app.inject({ method: 'GET', url: `/v1/executions/${executionId}`, headers: auth(key) });
    expect(view.json()).toMatchObject({ hookId: hook.id, input: { body: { action: 'opened', number: 7 }, headers: { 'x-github-event': 'pull_request' } } });
    expect(JSON.stringify(view.json())).not.toContain('x-other');

    const count = async (): Promise<number> => (await db.query<{ n: number }>('select count(*)::int as n from executions where hook_id = $1', [hook.id])).rows[0]?.n ?? -1;
    const before = await count();
    const forged = await call({ 'x-hub-signature-256': githubSignature('wrong-secret', body) });
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ error: { code: 'hook_signature_invalid' } });
    expect((await call({})).statusCode).toBe(401);
    // The signature covers the raw bytes: the same JSON spaced differently does not pass.
    expect((await call({ 'x-hub-signature-256': githubSignature('it-is-a-secret', body) }, JSON.stringify({ action: 'opened', number: 7 }, null, 1))).statusCode).toBe(401);
    expect(await count()).toBe(before);

    const list = await t.app.inject({ method: 'GET', url: `/v1/flows/${flowId}/hooks`, headers: auth(key) });
    expect(JSON.stringify(list.json())).not.toContain(hook.token);
    expect(JSON.stringify(list.json())).not.toContain('it-is-a-secret');
    expect(t.logs.join('')).not.toContain(hook.token);
    expect(t.logs.join('')).toContain('/v1/hooks/[redacted]');

    expect((await t.app.inject({ method: 'DELETE', url: `/v1/flows/${flowId}/hooks/${hook.id}`, headers: auth(key) })).statusCode).toBe(204);
    const revoked = await call({ 'x-hub-signature-256': githubSignature('it-is-a-secret', body) });
    expect(revoked.statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: '/v1/hooks/wh_unknown', payload: '{}', headers: { 'content-type': 'application/json' } })).statusCode).toBe(404);
  });

  it('checks the Stripe scheme with its tolerance, and takes any body as text', async () => {
    const { key, flowId } = await workspaceWithFlow('stripe');
    const res = await t.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/hooks`, headers: auth(key), payload: { signature: { scheme: 'stripe', secret: 'whsec_0123456789' } } });
    const hook = res.json<{ token: string }>();
    const body = 'plain=text&a=1';
    const sign = (t0: number) => `t=${t0},v1=${createHmac('sha256', 'whsec_0123456789').update(`${t0}.${body}`).digest('hex')}`;
    const call = (signature: string) => t.app.inject({ method: 'POST', url: `/v1/hooks/${hook.token}`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'stripe-signature': signature }, payload: body });
    const now = Math.floor(Date.now() / 1000);
    const ok = await call(sign(now));
    expect(ok.statusCode, ok.body).toBe(202);
    const view = await t.app.inject({ method: 'GET', url: `/v1/executions/${ok.json<{ executionId: string }>().executionId}`, headers: auth(key) });
    expect(view.json()).toMatchObject({ input: { body, headers: {} } });
    expect((await call(sign(now - 3600))).statusCode).toBe(401);
    expect((await call('t=1,v1=zz')).statusCode).toBe(401);
  });

  it('counts calls against the hook\'s rate and the workspace\'s in-flight cap: 429, nothing started', async () => {
    const { key, flowId } = await workspaceWithFlow('hook-quotas', q);
    const created = await q.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/hooks`, headers: auth(key), payload: {} });
    expect(created.statusCode, created.body).toBe(201);
    const hook = created.json<{ id: string; token: string }>();
    const call = () => q.app.inject({ method: 'POST', url: `/v1/hooks/${hook.token}`, headers: { 'content-type': 'application/json' }, payload: '{"n":1}' });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await call());
    // In-flight cap 3 (no worker runs them), rate 4 per key: 202 ×3, 429 in flight, 429 rate.
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 429, 429]);
    expect(answers[3]?.json()).toMatchObject({ error: { code: 'workspace_quota_exceeded' } });
    expect(answers[4]?.json()).toMatchObject({ error: { code: 'rate_limited' } });
    const { rows } = await db.query<{ n: number }>('select count(*)::int as n from executions where hook_id = $1', [hook.id]);
    expect(rows[0]?.n).toBe(3);
    const metrics = await q.deps.metrics.registry.getSingleMetricAsString('weft_hook_calls_total');
    expect(metrics).toMatch(/outcome="rate_limited"/);
    expect(metrics).toMatch(/outcome="workspace_quota"/);
  });
});
