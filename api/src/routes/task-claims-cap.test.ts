/**
 * The cap on long-polled task claims a workspace holds open at once on one api instance
 * (WEFT_TASK_CLAIMS_WAITING_PER_WORKSPACE): one more answers 429 task_claims_limit_exceeded, other
 * workspaces and plain claims are not touched, and a claim that ends gives its place back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

const CAP = 2;
let services: TestServices;
let t: TestApp;
let base: string;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_TASK_CLAIMS_WAITING_PER_WORKSPACE: String(CAP) } });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

async function workerToken(name: string): Promise<string> {
  const { apiKey } = await t.createWorkspace(name);
  const res = await t.app.inject({ method: 'POST', url: '/v1/worker-tokens', headers: { authorization: `Bearer ${apiKey}` }, payload: { name, handlers: ['cap.job'] } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ token: string }>().token;
}

function claim(token: string, waitMs: number, signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}/v1/tasks/claim`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ handlers: ['cap.job'], waitMs }), ...(signal ? { signal } : {}),
  });
}

const waiting = async (): Promise<number> => (await t.deps.metrics.taskClaimsWaiting.get()).values[0]?.value ?? 0;

describe('long-polled task claims per workspace', () => {
  it('refuses one past the cap with 429 task_claims_limit_exceeded, and takes it again once one ends', async () => {
    const a = await workerToken('claims-a');
    const b = await workerToken('claims-b');
    const stop = new AbortController();
    const held = Array.from({ length: CAP }, () => claim(a, 60_000, stop.signal).catch(() => null));
    await waitFor(async () => (await waiting()) === CAP, { timeoutMs: 10_000, message: `${CAP} claims waiting` });

    const refused = await claim(a, 60_000);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect((await refused.json() as { error: { code: string } }).error.code).toBe('task_claims_limit_exceeded');
    const refusals = (await t.deps.metrics.quotaRefusalsTotal.get()).values.find((v) => v.labels.quota === 'task_claims');
    expect(refusals?.value).toBe(1);
    // Another workspace, and a claim that does not wait, are not counted against it.
    expect((await claim(b, 50)).status).toBe(204);
    expect((await claim(a, 0)).status).toBe(204);

    stop.abort();
    await Promise.all(held);
    // The ended claims give their places back (each as its handler returns).
    await waitFor(async () => (await claim(a, 50)).status === 204, { timeoutMs: 10_000, message: 'a long poll taken again' });
  });
});
