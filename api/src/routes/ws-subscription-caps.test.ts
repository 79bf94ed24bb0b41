/**
 * WebSocket subscription caps, with a real ws client on a listening app: the subscribe past a
 * cap (per socket, per API key) is refused with an error message and the socket stays open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { connectWs, type RecordedSocket } from '../../../test/helpers/ws-client.js';

let services: TestServices;
let t: TestApp;
let url: string;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '2', WEFT_WS_MAX_SUBSCRIPTIONS_PER_KEY: '3' } });
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  url = `${address.replace('http', 'ws')}/v1/ws`;
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

async function flows(apiKey: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/flows', headers: { authorization: `Bearer ${apiKey}` }, payload: { name: `f${i}`, nodes: [{ id: 't', type: 'transform', expression: '1' }] } });
    ids.push(res.json<{ id: string }>().id);
  }
  return ids;
}

/** Sends a subscribe and answers the acknowledgement or the error that follows it. */
async function subscribe(ws: RecordedSocket, flowId: string): Promise<Record<string, unknown>> {
  const from = ws.messages.length;
  ws.send({ type: 'subscribe', flowId });
  return ws.waitForMessage((m) => ws.messages.indexOf(m) >= from && ((m.type === 'subscribed' && m.flowId === flowId) || m.type === 'error'));
}

const refusal = { type: 'error', error: { code: 'subscription_limit_exceeded', message: expect.any(String) } };

describe('WebSocket subscription caps', () => {
  it('refuses past the per-socket and per-key caps, keeps the socket open, and frees slots on unsubscribe and close', async () => {
    const ws = await t.createWorkspace('subscriber');
    const [f1, f2, f3, f4] = await flows(ws.apiKey, 4) as [string, string, string, string];
    const headers = { authorization: `Bearer ${ws.apiKey}` };
    const first = await connectWs(url, headers);
    const second = await connectWs(url, headers);
    try {
      expect(await subscribe(first, f1)).toMatchObject({ type: 'subscribed', flowId: f1 });
      expect(await subscribe(first, f2)).toMatchObject({ type: 'subscribed', flowId: f2 });
      // Per socket: the third is refused, and the socket goes on answering.
      const refused = await subscribe(first, f3);
      expect(refused).toEqual(refusal);
      expect((refused.error as { message: string }).message).toContain('socket');
      first.send({ type: 'unsubscribe', flowId: f1 });
      await first.waitForMessage((m) => m.type === 'unsubscribed' && m.flowId === f1);
      expect(await subscribe(first, f3)).toMatchObject({ type: 'subscribed', flowId: f3 });

      // Per key, across sockets: the key holds f2, f3 on the first socket; one more fits.
      expect(await subscribe(second, f4)).toMatchObject({ type: 'subscribed', flowId: f4 });
      const byKey = await subscribe(second, f1);
      expect(byKey).toEqual(refusal);
      expect((byKey.error as { message: string }).message).toContain('API key');
      // Another workspace's key has its own count.
      const other = await t.createWorkspace('other');
      const [g1] = await flows(other.apiKey, 1) as [string];
      const third = await connectWs(url, { authorization: `Bearer ${other.apiKey}` });
      expect(await subscribe(third, g1)).toMatchObject({ type: 'subscribed', flowId: g1 });
      third.close();

      // Closing the first socket gives its two subscriptions back to the key.
      first.close();
      await waitFor(async () => (await subscribe(second, f1)).type === 'subscribed', { timeoutMs: 10_000, message: 'slot freed by the close' });
      expect(await subscribe(second, f2)).toEqual(refusal);
    } finally {
      first.close();
      second.close();
    }
  });
});
