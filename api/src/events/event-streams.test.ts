/**
 * The relay's delivery on a listening app, with a real ws client and a real SSE reader: events
 * that arrive together leave in one write, in order, none dropped; a client that stops reading is
 * closed (WebSocket 4413, SSE ends) once WEFT_EVENT_STREAM_MAX_BUFFERED_BYTES are unsent, after a
 * gap-free prefix of its events, and it resumes from its last id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EventDraft, EventType } from '@weft/shared/model';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

const MAX_BUFFERED = 64 * 1024;

let services: TestServices;
let t: TestApp;
let base: string;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_EVENT_STREAM_MAX_BUFFERED_BYTES: String(MAX_BUFFERED) } });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

interface Target { workspaceId: string; apiKey: string; executionId: string; flowId: string }

/** A workspace with an execution that no worker runs: only the events the test publishes. */
async function target(): Promise<Target> {
  const { id: workspaceId, apiKey } = await t.createWorkspace('relay');
  const flow = await t.app.inject({ method: 'POST', url: '/v1/flows', headers: { authorization: `Bearer ${apiKey}` }, payload: { name: 'f', nodes: [{ id: 't', type: 'transform', expression: '1' }] } });
  const flowId = flow.json<{ id: string }>().id;
  const { execution } = await t.deps.database.repos.executions.create({ workspaceId, flowId, flowVersion: 1, input: null });
  return { workspaceId, apiKey, executionId: execution.id, flowId };
}

function draft(to: Target, type: EventType, data: Record<string, unknown>): EventDraft {
  return { type, executionId: to.executionId, flowId: to.flowId, workspaceId: to.workspaceId, nodeId: 't', at: new Date().toISOString(), data };
}

/** Publishes in one tick (the memory bus appends synchronously): the relay gets them together. */
function burst(drafts: readonly EventDraft[]): Promise<string[]> {
  return Promise.all(drafts.map((d) => t.deps.events.publish(d))).then((events) => events.map((e) => e.id));
}

async function counter(name: 'eventRelayMessagesTotal' | 'eventRelayWritesTotal' | 'eventSlowConsumersTotal', transport: 'ws' | 'sse'): Promise<number> {
  return (await t.deps.metrics[name].get()).values.find((v) => v.labels.transport === transport)?.value ?? 0;
}

interface Client { ws: WebSocket; events: Array<{ id: string; type: string }>; closed: { code: number | null } }

async function openWs(apiKey: string): Promise<Client> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${apiKey}` } });
  const client: Client = { ws, events: [], closed: { code: null } };
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { id?: string; type: string };
    if (typeof m.id === 'string') client.events.push({ id: m.id, type: m.type });
    else client.events.push({ id: '', type: m.type });
  });
  ws.on('close', (code) => { client.closed.code = code; });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => { resolve(); }); ws.once('error', reject); });
  return client;
}

async function subscribe(client: Client, executionId: string): Promise<void> {
  client.ws.send(JSON.stringify({ type: 'subscribe', executionId }));
  await waitFor(() => client.events.some((e) => e.type === 'subscribed'), { timeoutMs: 5000, message: 'subscribed' });
}

/**
 * Publishes 16 KiB events to a client that does not read until the api closes it as a slow
 * consumer (the kernel's socket buffers fill first, then the api's passes the bound); answers
 * the ids published. Bounded: fails the test if the close never comes.
 */
async function publishUntilSlow(to: Target, transport: 'ws' | 'sse'): Promise<string[]> {
  const before = await counter('eventSlowConsumersTotal', transport);
  const published: string[] = [];
  const big = 'x'.repeat(16 * 1024);
  for (let round = 0; round < 2000 && (await counter('eventSlowConsumersTotal', transport)) === before; round += 1) {
    published.push(...await burst(Array.from({ length: 4 }, () => draft(to, 'node.token', { delta: big }))));
    await new Promise<void>((resolve) => { setImmediate(resolve); });
  }
  expect(await counter('eventSlowConsumersTotal', transport)).toBe(before + 1);
  return published;
}

const relayed = (client: Client): string[] => client.events.filter((e) => e.id !== '').map((e) => e.id);

async function openSse(to: Target): Promise<Response> {
  const res = await fetch(`${base}/v1/executions/${to.executionId}/events`, { headers: { authorization: `Bearer ${to.apiKey}` } });
  expect(res.status).toBe(200);
  return res;
}

/** The `id:` lines of an SSE text, in order. */
const sseIds = (text: string): string[] => [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1] ?? '');

describe('event relay delivery', () => {
  it('sends a burst to a WebSocket in order, one message per event, in fewer writes, and nothing of another workspace', async () => {
    const to = await target();
    const other = await target();
    const client = await openWs(to.apiKey);
    try {
      await subscribe(client, to.executionId);
      const [messagesBefore, writesBefore] = [await counter('eventRelayMessagesTotal', 'ws'), await counter('eventRelayWritesTotal', 'ws')];
      // Another workspace's event under the same execution id must not reach this socket.
      const foreign = { ...draft(to, 'node.token', { delta: 'not yours' }), workspaceId: other.workspaceId, flowId: other.flowId };
      const ids = await burst([
        ...Array.from({ length: 200 }, (_, i) => draft(to, 'node.token', { delta: `d${i}` })),
        foreign,
        draft(to, 'node.completed', { output: 'done' }),
      ]);
      const mine = ids.filter((_, i) => i !== 200);
      await waitFor(() => relayed(client).length >= mine.length, { timeoutMs: 10_000, message: 'the burst relayed' });
      expect(relayed(client)).toEqual(mine);
      const messages = (await counter('eventRelayMessagesTotal', 'ws')) - messagesBefore;
      const writes = (await counter('eventRelayWritesTotal', 'ws')) - writesBefore;
      expect(messages).toBe(mine.length);
      expect(writes).toBeGreaterThan(0);
      expect(writes).toBeLessThan(messages);
    } finally {
      client.ws.terminate();
    }
  });

  it('sends a burst to an SSE stream in order and ends it after the terminal event', async () => {
    const to = await target();
    const res = await openSse(to);
    const text = res.text();
    // Whether the relay gets them live or from the replay, each arrives once, in order.
    const { nodeId: _none, ...completed } = draft(to, 'execution.completed', { status: 'completed' });
    const ids = await burst([...Array.from({ length: 200 }, (_, i) => draft(to, 'node.token', { delta: `d${i}` })), completed]);
    const body = await text;
    expect(sseIds(body)).toEqual(ids);
    expect(body.trimEnd().split('\n\n').at(-1)).toContain('event: execution.completed');
  });

  it('closes a WebSocket that stops reading with 4413 after a gap-free prefix, which resumes from its last id', async () => {
    const to = await target();
    const client = await openWs(to.apiKey);
    try {
      await subscribe(client, to.executionId);
      client.ws.pause();
      const published = await publishUntilSlow(to, 'ws');
      client.ws.resume();
      await waitFor(() => client.closed.code !== null, { timeoutMs: 15_000, message: 'the slow socket closed' });
      expect(client.closed.code).toBe(4413);
      const got = relayed(client);
      expect(got.length).toBeGreaterThan(0);
      expect(got.length).toBeLessThan(published.length);
      expect(got).toEqual(published.slice(0, got.length));
      // Resuming from the last id received gets the rest, without a gap.
      const again = await openWs(to.apiKey);
      try {
        again.ws.send(JSON.stringify({ type: 'subscribe', executionId: to.executionId, since: got.at(-1) }));
        await waitFor(() => relayed(again).length >= published.length - got.length, { timeoutMs: 15_000, message: 'the rest replayed' });
        expect(relayed(again)).toEqual(published.slice(got.length));
      } finally {
        again.ws.terminate();
      }
    } finally {
      client.ws.terminate();
    }
  });

  it('ends an SSE stream whose reader stops reading, after a gap-free prefix', async () => {
    const to = await target();
    const res = await openSse(to);
    // Nothing reads the body meanwhile.
    const published = await publishUntilSlow(to, 'sse');
    const got = sseIds(await res.text());
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(published.length);
    expect(got).toEqual(published.slice(0, got.length));
    expect(t.logs.some((l) => l.includes('the client reads too slowly') && l.includes('"transport":"sse"') && l.includes(to.executionId))).toBe(true);
  });
});
