/**
 * The served /asyncapi.json: the WebSocket protocol of GET /v1/ws as an AsyncAPI 3 document
 * (issue 12: the WebSocket is documented beside /openapi.json).
 * - `@redocly/cli lint` parses it and finds no error;
 * - every event type of EVENT_TYPES is a message the server sends, whose payload is the same
 *   schema as the OpenAPI component of that event;
 * - the client's subscribe/unsubscribe and their acknowledgements are described;
 * - its server is WEFT_PUBLIC_URL, as `wss`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_TYPES } from '@weft/shared/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redoclyLintErrors } from '../helpers/redocly.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestServices, type TestServices } from '../helpers/services.js';

const PUBLIC_URL = 'https://weft.example.test/base';

interface Ref { $ref: string }
interface AsyncDoc {
  asyncapi: string;
  servers: Record<string, { host: string; pathname?: string; protocol: string }>;
  channels: Record<string, { address: string; messages: Record<string, Ref> }>;
  operations: Record<string, { action: 'send' | 'receive'; channel: Ref; messages: Ref[]; reply?: { messages: Ref[] } }>;
  components: { schemas: Record<string, { properties?: { type?: { const?: string } } }>; messages: Record<string, { payload: Ref }> };
}

describe('the served /asyncapi.json', () => {
  let services: TestServices;
  let t: TestApp;
  let doc: AsyncDoc;
  let openapi: { components: { schemas: Record<string, unknown> } };
  let dir: string;

  beforeAll(async () => {
    services = await createTestServices();
    t = await createTestApp({ databaseUrl: services.databaseUrl, env: { WEFT_PUBLIC_URL: PUBLIC_URL } });
    const res = await t.app.inject({ method: 'GET', url: '/asyncapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<AsyncDoc>();
    openapi = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    dir = mkdtempSync(join(tmpdir(), 'weft-asyncapi-'));
    writeFileSync(join(dir, 'asyncapi.json'), res.body);
  });

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await t?.close();
    await services?.cleanup();
  });

  /** A channel's message is a $ref to a component message: that $ref. */
  const resolve = (ref: Ref): Ref => ref.$ref.slice(2).split('/').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc) as Ref;

  it('is AsyncAPI 3 on the channel /v1/ws of WEFT_PUBLIC_URL, needing no key to read', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(Object.values(doc.servers)).toEqual([expect.objectContaining({ host: 'weft.example.test', pathname: '/base', protocol: 'wss' })]);
    expect(Object.values(doc.channels).map((c) => c.address)).toEqual(['/v1/ws']);
  });

  it('names every event type as a message the server sends, with the OpenAPI schema of that event', () => {
    const sent = Object.values(doc.operations).filter((o) => o.action === 'send').flatMap((o) => o.messages.map((m) => resolve(m)));
    for (const type of EVENT_TYPES) {
      const message = doc.components.messages[type];
      expect(message, type).toBeDefined();
      expect(sent, type).toContainEqual({ $ref: `#/components/messages/${type}` });
      const title = message?.payload.$ref.split('/').at(-1) ?? '';
      const schema = doc.components.schemas[title];
      expect(schema?.properties?.type?.const, type).toBe(type);
      expect(openapi.components.schemas[title], type).toEqual(schema);
    }
  });

  it('describes what a client sends, and what answers it', () => {
    const received = Object.fromEntries(Object.entries(doc.operations).filter(([, o]) => o.action === 'receive')
      .map(([id, o]) => [id, { messages: o.messages.map((m) => resolve(m).$ref), replies: (o.reply?.messages ?? []).map((m) => resolve(m).$ref) }]));
    expect(received).toEqual({
      subscribe: { messages: ['#/components/messages/subscribe'], replies: ['#/components/messages/subscribed', '#/components/messages/error'] },
      unsubscribe: { messages: ['#/components/messages/unsubscribe'], replies: ['#/components/messages/unsubscribed', '#/components/messages/error'] },
    });
  });

  it('passes @redocly/cli lint with no error', async () => {
    expect(await redoclyLintErrors(join(dir, 'asyncapi.json'))).toEqual([]);
  }, 60_000);
});
