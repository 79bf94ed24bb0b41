/**
 * The AsyncAPI 3 document of the WebSocket (`GET /v1/ws`), served at `/asyncapi.json` beside
 * `/openapi.json`: OpenAPI cannot describe a message protocol, and @fastify/websocket hides the
 * route from it. Its event payloads are the same schemas as the OpenAPI `Event` components
 * (EventSchemas), so the two documents cannot disagree on an event; every event type of
 * EVENT_TYPES is a message the server sends.
 */
import { EVENT_TYPES } from '@weft/shared/model';
import { Type } from 'typebox';
import { ErrorResponseSchema } from '../schemas/common-schemas.js';
import { EventSchemas } from '../schemas/execution-schemas.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const target = Type.Object({
  executionId: Type.Optional(Type.String({ format: 'uuid' })),
  flowId: Type.Optional(Type.String({ format: 'uuid' })),
});

/** Client → server, and the acknowledgements and errors the server answers them with. */
const CONTROL_MESSAGES = {
  subscribe: {
    summary: 'Follow an execution (its kept events after `since` are replayed first) or every execution of a flow (live only)',
    payload: Type.Object({
      type: Type.Literal('subscribe'),
      ...target.properties,
      since: Type.Optional(Type.String({ description: 'An event id: replay the execution\'s events after it (all kept, without it)' })),
    }, { additionalProperties: false, title: 'WsSubscribe', description: 'Exactly one of executionId, flowId' }),
  },
  unsubscribe: {
    summary: 'Stop following an execution or a flow',
    payload: Type.Object({ type: Type.Literal('unsubscribe'), ...target.properties }, { additionalProperties: false, title: 'WsUnsubscribe' }),
  },
  subscribed: {
    summary: 'A subscription is in place (not repeated for a second subscribe to the same target)',
    payload: Type.Object({ type: Type.Literal('subscribed'), ...target.properties }, { additionalProperties: false, title: 'WsSubscribed' }),
  },
  unsubscribed: {
    summary: 'A subscription is gone',
    payload: Type.Object({ type: Type.Literal('unsubscribed'), ...target.properties }, { additionalProperties: false, title: 'WsUnsubscribed' }),
  },
  error: {
    summary: 'A message was refused (invalid_json, invalid_request, not_found, subscription_limit_exceeded, internal_error); the socket stays open',
    payload: Type.Object({ type: Type.Literal('error'), error: ErrorResponseSchema.properties.error }, { additionalProperties: false, title: 'WsError' }),
  },
} as const;

/** `node.completed` → `NodeCompletedEvent`: the title of its schema in both documents. */
function titleOf(schema: object): string {
  return (schema as { title: string }).title;
}

/** Plain JSON of a TypeBox schema (its symbols dropped), with titles kept. */
function json(schema: object): Json {
  return JSON.parse(JSON.stringify(schema)) as Json;
}

/** The server's address as AsyncAPI names it: host, path and `ws`/`wss` from WEFT_PUBLIC_URL. */
function serverOf(publicUrl: string): { host: string; pathname: string; protocol: string } {
  const url = new URL(publicUrl);
  const pathname = url.pathname.replace(/\/+$/, '');
  return { host: url.host, ...(pathname === '' ? { pathname: '/' } : { pathname }), protocol: url.protocol === 'https:' ? 'wss' : 'ws' };
}

export function asyncApiDocument(publicUrl: string): Record<string, Json> {
  const schemas: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const channelMessages: Record<string, Json> = {};
  const ref = (name: string): Json => ({ $ref: `#/components/messages/${name}` });

  for (const [name, message] of Object.entries(CONTROL_MESSAGES)) {
    const title = titleOf(message.payload);
    schemas[title] = json(message.payload);
    messages[name] = { name, title, summary: message.summary, payload: { $ref: `#/components/schemas/${title}` } };
    channelMessages[name] = ref(name);
  }
  for (const [i, type] of EVENT_TYPES.entries()) {
    const schema = EventSchemas[i];
    if (!schema) continue;
    const title = titleOf(schema);
    schemas[title] = json(schema);
    messages[type] = { name: type, title, summary: `The ${type} event (api.md, "Event types"), as SSE sends it`, payload: { $ref: `#/components/schemas/${title}` } };
    channelMessages[type] = ref(type);
  }
  const channelRef = { $ref: '#/channels/events' };
  const onChannel = (names: readonly string[]): Json[] => names.map((n) => ({ $ref: `#/channels/events/messages/${n}` }));
  operations.subscribe = { action: 'receive', channel: channelRef, summary: CONTROL_MESSAGES.subscribe.summary, messages: onChannel(['subscribe']), reply: { channel: channelRef, messages: onChannel(['subscribed', 'error']) } };
  operations.unsubscribe = { action: 'receive', channel: channelRef, summary: CONTROL_MESSAGES.unsubscribe.summary, messages: onChannel(['unsubscribe']), reply: { channel: channelRef, messages: onChannel(['unsubscribed', 'error']) } };
  operations.sendEvent = { action: 'send', channel: channelRef, summary: 'Events of the subscribed executions and flows, one per WebSocket message, in order', messages: onChannel(EVENT_TYPES) };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Weft live events',
      version: '1.0.0',
      description: 'The WebSocket of GET /v1/ws (docs/api.md, "GET /v1/ws"). Messages are JSON text, at most 64 KiB. '
        + 'A client that stops reading is closed with 4413 (slow_consumer); a revoked key closes it with 4401.',
      license: { name: 'Apache-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      weft: {
        ...serverOf(publicUrl),
        description: 'WEFT_PUBLIC_URL',
        security: [{ $ref: '#/components/securitySchemes/apiKey' }, { $ref: '#/components/securitySchemes/queryToken' }],
      },
    },
    channels: {
      events: {
        address: '/v1/ws',
        title: 'Subscriptions and events',
        description: 'One socket carries any number of subscriptions (WEFT_WS_MAX_SUBSCRIPTIONS_PER_SOCKET, 1000 by default).',
        messages: channelMessages,
      },
    },
    operations,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      messages,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A workspace API key in Authorization' },
        queryToken: { type: 'httpApiKey', name: 'token', in: 'query', description: 'The API key as ?token=, for clients that cannot set a header' },
      },
    },
  };
}
