/**
 * Revoking an API key ends the event streams opened with it, on a listening app with a real ws
 * client and a real SSE reader: the WebSocket closes with 4401, the SSE stream ends, and a
 * stream of another key of the same workspace stays open. (Other api instances get the
 * revocation over the control bus: test/e2e/keys-and-workspaces.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

let services: TestServices;
let t: TestApp;
let base: string;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

/** A WebSocket that records whether and how it closed. */
async function openWs(apiKey: string): Promise<{ ws: WebSocket; closed: { code: number | null } }> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${apiKey}` } });
  const closed: { code: number | null } = { code: null };
  ws.on('close', (code) => { closed.code = code; });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => { resolve(); }); ws.once('error', reject); });
  return { ws, closed };
}

describe('a revoked API key', () => {
  it('closes the WebSocket and SSE streams opened with it, and only those', async () => {
    const { id: workspaceId, apiKey: keeper } = await t.createWorkspace('streams');
    const created = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: { authorization: `Bearer ${keeper}` }, payload: { name: 'to revoke' } });
    expect(created.statusCode, created.body).toBe(201);
    const { id: revokedId, apiKey: revoked } = created.json<{ id: string; apiKey: string }>();
    // An execution that never ends here (no worker): its SSE stream stays open until closed.
    const flow = await t.app.inject({ method: 'POST', url: '/v1/flows', headers: { authorization: `Bearer ${keeper}` }, payload: { name: 'f', nodes: [{ id: 't', type: 'transform', expression: '1' }] } });
    const { execution } = await t.deps.database.repos.executions.create({ workspaceId, flowId: flow.json<{ id: string }>().id, flowVersion: 1, input: null });

    const doomed = await openWs(revoked);
    const kept = await openWs(keeper);
    const sse = await fetch(`${base}/v1/executions/${execution.id}/events`, { headers: { authorization: `Bearer ${revoked}` } });
    expect(sse.status).toBe(200);
    const sseText = sse.text();

    const res = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${revokedId}`, headers: { authorization: `Bearer ${keeper}` } });
    expect(res.statusCode, res.body).toBe(204);

    await waitFor(() => doomed.closed.code !== null, { timeoutMs: 5000, message: 'the revoked key\'s socket closed' });
    expect(doomed.closed.code).toBe(4401);
    expect(await sseText).toContain(': connected');
    // The other key's socket is still open and answers.
    expect(kept.closed.code).toBeNull();
    kept.ws.send(JSON.stringify({ type: 'ping' }));
    await waitFor(() => kept.ws.readyState === WebSocket.OPEN, { timeoutMs: 2000 });
    kept.ws.close();
  });
});
