/**
 * The per-workspace cap on executions in flight, on real processes (an api and a worker on Redis
 * and Postgres): a workspace at its cap is refused with 429 workspace_quota_exceeded and no row,
 * another workspace is not affected, and the cap frees up as the workspace's executions end
 * (cancelled, or resumed to completion).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { startDistributedStack, STACK_START_MS, type DistributedStack } from '../helpers/stack.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const CAP = 2;

describe('workspace in-flight cap', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let redis: Redis;

  beforeAll(async () => {
    svc = await createTestServices();
    redis = new Redis(svc.redisUrl);
    stack = await startDistributedStack({ ...svc, workers: ['w1'], env: { WEFT_WORKSPACE_MAX_IN_FLIGHT: String(CAP) } });
  }, STACK_START_MS);

  afterAll(async () => {
    await stack?.stop();
    await redis?.quit();
    await svc?.cleanup();
  });

  it('refuses a workspace at its cap, runs another workspace meanwhile, and admits again once it drains', async () => {
    const a = apiClient(stack.baseUrl, await stack.createWorkspace('a'));
    const b = apiClient(stack.baseUrl, await stack.createWorkspace('b'));
    const wsA = (await a('GET', '/v1/workspace')).body.id as string;
    const flowA = (await a('POST', '/v1/flows', { name: 'park', nodes: [{ id: 'approve', type: 'wait', event: 'approval' }] })).body.id as string;
    const quickA = (await a('POST', '/v1/flows', { name: 'quick', nodes: [{ id: 't', type: 'transform', expression: '1 + 1' }] })).body.id as string;
    const quickB = (await b('POST', '/v1/flows', { name: 'quick', nodes: [{ id: 't', type: 'transform', expression: '2 + 2' }] })).body.id as string;

    const parked: string[] = [];
    for (let i = 0; i < CAP; i += 1) {
      const res = await a('POST', `/v1/flows/${flowA}/executions`, {});
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      parked.push(res.body.executionId as string);
    }
    await waitFor(async () => {
      const views = await Promise.all(parked.map((id) => a('GET', `/v1/executions/${id}`)));
      return views.every((v) => v.body.status === 'waiting');
    }, { timeoutMs: 30_000, message: 'parked executions waiting' });

    // At the cap: refused, with Retry-After, and nothing stored (the Idempotency-Key stays free).
    const refused = await a('POST', `/v1/flows/${quickA}/executions`, {}, { 'idempotency-key': 'after-the-drain' });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('workspace_quota_exceeded');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const listed = await a('GET', '/v1/executions?limit=100');
    expect((listed.body.items as Array<{ id: string }>).map((e) => e.id).sort()).toEqual([...parked].sort());

    // Another workspace is not held back.
    const other = await b('POST', `/v1/flows/${quickB}/executions`, { wait: true, timeoutMs: 30_000 });
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    expect(other.body.status).toBe('completed');

    // Drain: one cancelled, one resumed to completion. Each end is released once it is recorded.
    expect((await a('POST', `/v1/executions/${parked[0]}/cancel`)).status).toBe(202);
    expect((await a('POST', `/v1/executions/${parked[1]}/resume`, { nodeId: 'approve', data: { ok: true } })).status).toBe(202);
    await waitFor(async () => (await redis.scard(`${svc.prefix}:inflight:{${wsA}}`)) === 0, { timeoutMs: 30_000, message: 'in-flight set drained' });

    const again = await a('POST', `/v1/flows/${quickA}/executions`, { wait: true, timeoutMs: 30_000 }, { 'idempotency-key': 'after-the-drain' });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.status).toBe('completed');
    // It ended too: nothing of workspace A is in flight any more.
    await waitFor(async () => (await redis.scard(`${svc.prefix}:inflight:{${wsA}}`)) === 0, { timeoutMs: 30_000, message: 'released after completing' });
  }, 120_000);
});
