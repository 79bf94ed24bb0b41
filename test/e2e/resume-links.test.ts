/**
 * Resume links on a distributed fleet with two api instances and a worker (api.md,
 * "POST /v1/resume/{token}"): node.waiting and GET carry the link; it resumes its node without an
 * API key, once (two concurrent calls on the two instances → exactly one 202), for that node
 * only, until the wait's timeout (410 after); forged tokens answer 404. The API-key route keeps
 * its rule: a webhook needs its token, an approval does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { freePort, startWeftProcess, waitForHttp } from '../helpers/processes.js';
import { readSseUntil } from '../helpers/sse-until.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { PROCESS_READY_MS, startDistributedStack, STACK_START_MS, type DistributedStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const PUBLIC_URL = 'https://weft.example.test/base';
const TTL_SECONDS = 3600;

interface NodeView { nodeId: string; status: string; startedAt: string | null; resumeUrl?: string; resumeUrlExpiresAt?: string }

describe('resume links', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let secondUrl: string;

  beforeAll(async () => {
    svc = await createTestServices();
    stack = await startDistributedStack({ ...svc, workers: ['w1'], env: { WEFT_PUBLIC_URL: PUBLIC_URL, WEFT_RESUME_LINK_TTL_SECONDS: String(TTL_SECONDS) } });
    const port = await freePort();
    const second = startWeftProcess({ name: 'api2', script: 'api/src/main.ts', args: ['--role=api'], env: { ...stack.env, PORT: String(port) } });
    stack.procs.push(second);
    secondUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${secondUrl}/health/ready`, second, PROCESS_READY_MS);
  }, STACK_START_MS + PROCESS_READY_MS);

  afterAll(async () => {
    await stack?.stop();
    await svc?.cleanup();
  });

  /** The link's path on an api instance: the URL is the public one, the test reaches the instances directly. */
  const pathOf = (url: string): string => {
    expect(url.startsWith(`${PUBLIC_URL}/v1/resume/`)).toBe(true);
    return url.slice(PUBLIC_URL.length);
  };
  const anonymous = (base: string) => apiClient(base);

  async function waitingNodes(call: ReturnType<typeof apiClient>, executionId: string, ids: string[]): Promise<Map<string, NodeView>> {
    return waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      const nodes = new Map((r.body.nodes as NodeView[]).map((n) => [n.nodeId, n]));
      return ids.every((id) => nodes.get(id)?.status === 'waiting') ? nodes : null;
    }, { timeoutMs: 20_000, message: `${ids.join(', ')} waiting` });
  }

  it('node.waiting and GET carry a link that resumes its node once, without an API key, and only that node', async () => {
    const apiKey = await stack.createWorkspace('links');
    const call = apiClient(stack.baseUrl, apiKey);
    const flow = await call('POST', '/v1/flows', {
      name: 'links',
      nodes: [
        { id: 'approve', type: 'wait', event: 'approval' },
        { id: 'hook', type: 'wait', event: 'webhook', timeoutMs: 600_000 },
        { id: 'publish', type: 'transform', expression: '{"approved": nodes.approve.ok, "by": nodes.hook.from}' },
      ],
      edges: [{ from: 'approve', to: 'publish' }, { from: 'hook', to: 'publish' }],
    });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, {});
    const executionId = start.body.executionId as string;
    const nodes = await waitingNodes(call, executionId, ['approve', 'hook']);
    const approve = nodes.get('approve');
    const hook = nodes.get('hook');
    if (!approve?.resumeUrl || !hook?.resumeUrl || !approve.startedAt || !hook.startedAt) throw new Error('no resume links in GET');

    // The event carries the same links, so GET is a fallback for clients that missed it.
    const events = await readSseUntil(`${stack.baseUrl}/v1/executions/${executionId}/events`, { authorization: `Bearer ${apiKey}` },
      (es) => es.filter((e) => e.event === 'node.waiting').length === 2);
    const waitingData = new Map(events.filter((e) => e.event === 'node.waiting').map((e) => [e.data.nodeId as string, e.data.data]));
    expect(waitingData.get('approve')).toMatchObject({ event: 'approval', resumeUrl: approve.resumeUrl, resumeUrlExpiresAt: approve.resumeUrlExpiresAt });
    expect(waitingData.get('hook')).toMatchObject({ event: 'webhook', resumeUrl: hook.resumeUrl, resumeUrlExpiresAt: hook.resumeUrlExpiresAt });
    // Expiry: the wait's timeout; without one, WEFT_RESUME_LINK_TTL_SECONDS.
    expect(Date.parse(hook.resumeUrlExpiresAt ?? '')).toBe(Date.parse(hook.startedAt) + 600_000);
    expect(Date.parse(approve.resumeUrlExpiresAt ?? '')).toBe(Date.parse(approve.startedAt) + TTL_SECONDS * 1000);

    // The API-key route: a webhook needs its token, with or without a key.
    expect((await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'hook', data: { from: 'mallory' } })).status).toBe(403);

    // A forged link (another node named in the payload, the signature kept) or junk: 404 in the error shape.
    const approvePath = pathOf(approve.resumeUrl);
    const [payload = '', signature = ''] = approvePath.slice('/v1/resume/'.length).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims.n).toBe('approve');
    const forged = `${Buffer.from(JSON.stringify({ ...claims, n: 'hook' })).toString('base64url')}.${signature}`;
    for (const token of [forged, 'not-a-token', `${payload}.AAAA`]) {
      const r = await anonymous(stack.baseUrl)('POST', `/v1/resume/${token}`, { from: 'mallory' });
      expect(r.status, token).toBe(404);
      expect(r.body).toMatchObject({ error: { code: 'resume_link_invalid', message: expect.any(String) } });
    }

    // The hook's link resumes the hook alone, with the body as its output, no API key needed.
    const hooked = await anonymous(secondUrl)('POST', pathOf(hook.resumeUrl), { from: 'partner' });
    expect(hooked.status, JSON.stringify(hooked.body)).toBe(202);
    expect(hooked.body).toEqual({ executionId, nodeId: 'hook', status: 'resuming' });
    const afterHook = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      const byId = new Map((r.body.nodes as NodeView[]).map((n) => [n.nodeId, n]));
      return byId.get('hook')?.status === 'completed' ? byId : null;
    }, { timeoutMs: 20_000, message: 'hook completed' });
    expect(afterHook.get('approve')?.status).toBe('waiting');
    expect(afterHook.get('hook')?.resumeUrl).toBeUndefined();

    // Two concurrent calls of the approval's link, one on each api instance: exactly one 202.
    const both = await Promise.all([
      anonymous(stack.baseUrl)('POST', approvePath, { ok: true }),
      anonymous(secondUrl)('POST', approvePath, { ok: false }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    const refused = both.find((r) => r.status === 409);
    expect(refused?.body).toMatchObject({ error: { code: 'resume_link_used' } });
    const again = await anonymous(stack.baseUrl)('POST', approvePath);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('resume_link_used');
    const winner = both.find((r) => r.status === 202);
    const approved = both[0] === winner;

    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { timeoutMs: 20_000, message: 'execution completed' });
    expect(done.output).toEqual({ publish: { approved, by: 'partner' } });
    // The hook's link after its node completed: used.
    expect((await anonymous(stack.baseUrl)('POST', pathOf(hook.resumeUrl), {})).status).toBe(409);
    // Counted by result on the instances that answered.
    const metrics = (await Promise.all([stack.baseUrl, secondUrl].map(async (u) => (await fetch(`${u}/metrics`)).text()))).join('\n');
    expect(metrics).toMatch(/weft_resume_links_total\{result="resumed"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/weft_resume_links_total\{result="used"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/weft_resume_links_total\{result="invalid"[^}]*\} [1-9]/);
  });

  it('answers 410 once the wait has timed out, and approvals still resume with the API key', async () => {
    const apiKey = await stack.createWorkspace('expiry');
    const call = apiClient(stack.baseUrl, apiKey);
    const flow = await call('POST', '/v1/flows', {
      name: 'expiry',
      nodes: [{ id: 'approve', type: 'wait', event: 'approval', timeoutMs: 3000 }],
      edges: [],
    });
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, {});
    const executionId = start.body.executionId as string;
    const link = (await waitingNodes(call, executionId, ['approve'])).get('approve')?.resumeUrl ?? '';
    // The timeout job runs at the link's expiry: once the wait failed, the link has expired.
    await waitFor(async () => (await call('GET', `/v1/executions/${executionId}`)).body.status === 'failed', { timeoutMs: 20_000, message: 'wait timed out' });
    const late = await anonymous(secondUrl)('POST', pathOf(link), { ok: true });
    expect(late.status).toBe(410);
    expect(late.body).toMatchObject({ error: { code: 'resume_link_expired' } });

    // The API-key route: an approval needs no token.
    const patient = await call('POST', '/v1/flows', { name: 'patient', nodes: [{ id: 'approve', type: 'wait', event: 'approval' }], edges: [] });
    const other = await call('POST', `/v1/flows/${patient.body.id as string}/executions`, {});
    await waitingNodes(call, other.body.executionId as string, ['approve']);
    expect((await call('POST', `/v1/executions/${other.body.executionId as string}/resume`, { nodeId: 'approve', data: { ok: 1 } })).status).toBe(202);
    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${other.body.executionId as string}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { timeoutMs: 20_000, message: 'approved with the key' });
    expect(done.output).toEqual({ approve: { ok: 1 } });
  });
});
