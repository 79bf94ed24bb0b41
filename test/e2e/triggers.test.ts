/**
 * Triggers on real processes (an api and two workers on Redis and Postgres): a one-second cron
 * ticks for a few seconds and every tick time starts exactly one execution across the fleet,
 * which records its schedule; a pause stops it (checked against a second schedule that keeps
 * ticking, so nothing waits on the clock); an inbound webhook starts its flow (202, or the output
 * with ?wait=true); a bad signature answers 401 and starts nothing; a revoked hook answers 404.
 * Last, with every worker stopped for a few tick times, the schedule catches up once, late.
 */
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, STACK_START_MS, type DistributedStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

interface Tick { tickAt: string; outcome: string; reason: string | null; executionId: string | null }

describe('triggers on a fleet of two workers', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let db: pg.Client;
  let call: ReturnType<typeof apiClient>;
  let flowId: string;

  beforeAll(async () => {
    svc = await createTestServices();
    stack = await startDistributedStack({ ...svc, workers: ['w1', 'w2'], env: { WEFT_SCHEDULE_MIN_INTERVAL_SECONDS: '1' } });
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
    call = apiClient(stack.baseUrl, await stack.createWorkspace('triggers'));
    const flow = await call('POST', '/v1/flows', { name: 'echo', nodes: [{ id: 'echo', type: 'transform', expression: '{"got": input}' }], edges: [] });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    flowId = flow.body.id as string;
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await svc?.cleanup();
  });

  const ticksOf = async (scheduleId: string): Promise<Tick[]> => {
    const r = await call('GET', `/v1/schedules/${scheduleId}/ticks?limit=100`);
    expect(r.status).toBe(200);
    return r.body.items as Tick[];
  };

  it('a one-second cron starts exactly one execution per tick time on two workers, and a pause stops it', async () => {
    const created = await call('POST', `/v1/flows/${flowId}/schedules`, { cron: '* * * * * *', input: { from: 'cron' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const scheduleId = created.body.id as string;
    const started = await waitFor(async () => {
      const ticks = (await ticksOf(scheduleId)).filter((t) => t.outcome === 'started');
      return ticks.length >= 4 ? ticks : null;
    }, { timeoutMs: 60_000, message: 'four ticks started' });

    // Every tick time once, each with its own execution; the execution records its schedule.
    const times = started.map((t) => t.tickAt);
    expect(new Set(times).size).toBe(times.length);
    for (const time of times) expect(Date.parse(time) % 1000).toBe(0);
    const executionIds = started.map((t) => t.executionId);
    expect(new Set(executionIds).size).toBe(executionIds.length);
    const rows = await db.query<{ idempotency_key: string; n: number }>(
      'select idempotency_key, count(*)::int as n from executions where schedule_id = $1 group by idempotency_key', [scheduleId]);
    expect(rows.rows.every((r) => r.n === 1)).toBe(true);
    const ticked = new Set(rows.rows.map((r) => r.idempotency_key));
    for (const time of times) expect(ticked.has(`schedule:${scheduleId}:${time}`)).toBe(true);
    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionIds[0] ?? ''}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { timeoutMs: 30_000, message: 'a scheduled execution completed' });
    expect(done).toMatchObject({ scheduleId, input: { from: 'cron' }, output: { echo: { got: { from: 'cron' } } } });

    // Pause; then let a second schedule tick three more times as the clock.
    const paused = await call('PATCH', `/v1/schedules/${scheduleId}`, { paused: true });
    expect(paused.body).toMatchObject({ paused: true, nextTickAt: null });
    const pausedAt = Date.now();
    const clock = await call('POST', `/v1/flows/${flowId}/schedules`, { cron: '* * * * * *', input: { from: 'clock' } });
    const clockId = clock.body.id as string;
    await waitFor(async () => (await ticksOf(clockId)).filter((t) => Date.parse(t.tickAt) > pausedAt + 1000).length >= 3,
      { timeoutMs: 60_000, message: 'the clock schedule ticked three times after the pause' });
    // A tick already running when the pause landed may still start; none after it.
    const after = (await ticksOf(scheduleId)).filter((t) => Date.parse(t.tickAt) > pausedAt + 1000);
    expect(after).toEqual([]);
    expect((await call('DELETE', `/v1/schedules/${clockId}`)).status).toBe(204);
    expect((await call('DELETE', `/v1/schedules/${scheduleId}`)).status).toBe(204);
  });

  it('a hook starts its flow; a bad signature answers 401 and starts nothing; a revoked hook answers 404', async () => {
    const secret = 'e2e-github-secret';
    const created = await call('POST', `/v1/flows/${flowId}/hooks`, { name: 'gh', headers: ['X-GitHub-Event'], signature: { scheme: 'github', secret } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id: hookId, token } = created.body as { id: string; token: string };
    const anonymous = apiClient(stack.baseUrl);
    const body = JSON.stringify({ ref: 'main', commits: 3 });
    const sign = (key: string, text: string) => `sha256=${createHmac('sha256', key).update(text).digest('hex')}`;
    const hooked = async (): Promise<number> => (await db.query<{ n: number }>('select count(*)::int as n from executions where hook_id = $1', [hookId])).rows[0]?.n ?? -1;

    const accepted = await anonymous('POST', `/v1/hooks/${token}`, body, { 'x-hub-signature-256': sign(secret, body), 'x-github-event': 'push' });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const executionId = accepted.body.executionId as string;
    const view = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { timeoutMs: 30_000, message: 'the hooked execution completed' });
    expect(view).toMatchObject({ hookId, output: { echo: { got: { body: { ref: 'main', commits: 3 }, headers: { 'x-github-event': 'push' } } } } });

    const waited = await anonymous('POST', `/v1/hooks/${token}?wait=true&timeoutMs=30000`, body, { 'x-hub-signature-256': sign(secret, body) });
    expect(waited.status, JSON.stringify(waited.body)).toBe(200);
    expect(waited.body).toMatchObject({ status: 'completed', output: { echo: { got: { body: { ref: 'main', commits: 3 }, headers: {} } } } });

    const before = await hooked();
    const forged = await anonymous('POST', `/v1/hooks/${token}`, body, { 'x-hub-signature-256': sign('not-the-secret', body) });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('hook_signature_invalid');
    expect(await hooked()).toBe(before);

    expect((await call('DELETE', `/v1/flows/${flowId}/hooks/${hookId}`)).status).toBe(204);
    const revoked = await anonymous('POST', `/v1/hooks/${token}`, body, { 'x-hub-signature-256': sign(secret, body) });
    expect(revoked.status).toBe(404);
    expect(await hooked()).toBe(before);
    const metrics = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/weft_hook_calls_total\{[^}]*outcome="bad_signature"[^}]*\} 1/);
    expect(stack.procs.map((p) => p.output()).join('')).not.toContain(token);
  });
  it('after the whole fleet was down for several tick times, one missed tick runs, late, then ticking goes on', async () => {
    const created = await call('POST', `/v1/flows/${flowId}/schedules`, { cron: '* * * * * *', input: { from: 'outage' } });
    const scheduleId = created.body.id as string;
    await waitFor(async () => (await ticksOf(scheduleId)).length >= 2, { timeoutMs: 60_000, message: 'two ticks before the outage' });
    await Promise.all(stack.workers.map((w) => w.proc.stop()));
    // Every tick a worker took before it stopped is recorded by now.
    const lastBefore = Math.max(...(await ticksOf(scheduleId)).map((t) => Date.parse(t.tickAt)));
    // The outage itself: the fleet stays down while at least three tick times pass.
    await waitFor(() => Date.now() > lastBefore + 4000, { timeoutMs: 10_000, message: 'an outage of three tick times' });
    const restartAt = Date.now();
    await stack.startWorker('w3');
    const ticks = await waitFor(async () => {
      const all = await ticksOf(scheduleId);
      return all.filter((t) => Date.parse(t.tickAt) >= restartAt).length >= 2 ? all : null;
    }, { timeoutMs: 60_000, message: 'ticking again after the restart' });
    const missed = ticks.filter((t) => Date.parse(t.tickAt) > lastBefore && Date.parse(t.tickAt) < restartAt);
    expect(missed).toHaveLength(1);
    expect(missed[0]?.outcome).toBe('started');
    expect(Date.parse((missed[0] as Tick & { recordedAt: string }).recordedAt)).toBeGreaterThanOrEqual(restartAt);
    expect((await call('DELETE', `/v1/schedules/${scheduleId}`)).status).toBe(204);
  }, 180_000);

});
