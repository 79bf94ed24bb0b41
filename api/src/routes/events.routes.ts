/**
 * Live events (api.md, "Live events"): SSE per execution with Last-Event-ID replay, and the
 * WebSocket subscribe protocol by execution or flow. Both ride on the app's EventHub.
 */
import { frameOf, isEventId } from '@weft/shared/engine';
import { TERMINAL_EVENT_TYPES, TERMINAL_EXECUTION_STATUSES, type ErrorCode, type EventFrame } from '@weft/shared/model';
import { isUuid } from '@weft/shared/ids';
import type { WebSocket } from 'ws';
import { Type } from 'typebox';
import type { RoutePlugin } from '../fastify-types.js';
import { notFound } from '../plugins/error-handler.plugin.js';
import { IdParamsSchema, errorResponses } from '../schemas/common-schemas.js';
import { SubscriptionQuota } from '../events/subscription-quota.js';
import { StreamWriter } from '../events/stream-writer.js';

const HEARTBEAT_MS = 15_000;
/** WebSocket close code of a slow consumer (as 413 would answer: more unsent than allowed). */
export const SLOW_CONSUMER_CLOSE_CODE = 4413;
const SLOW_CONSUMER: Lowercase<ErrorCode> = 'slow_consumer';
/** A slow SSE reader gets this long to take what is buffered (ws' own close timeout); then the socket goes. */
const SLOW_CONSUMER_GRACE_MS = 30_000;

function sseFrame(frame: EventFrame): string {
  return `id: ${frame.id}\nevent: ${frame.type}\ndata: ${frame.json}\n\n`;
}

export const eventsRoutes: RoutePlugin = (app, { deps }) => {
  const { repos } = deps.database;
  const log = deps.logger.child({ component: 'events' });
  const quota = new SubscriptionQuota({ perSocket: deps.config.quotas.wsMaxSubscriptionsPerSocket, perKey: deps.config.quotas.wsMaxSubscriptionsPerKey });
  const maxBuffered = deps.config.quotas.eventStreamMaxBufferedBytes;
  const { metrics } = deps;
  const counted = (transport: 'ws' | 'sse', messages: number): void => {
    metrics.eventRelayMessagesTotal.inc({ transport }, messages);
    metrics.eventRelayWritesTotal.inc({ transport });
  };
  const slowConsumer = (transport: 'ws' | 'sse', context: Record<string, unknown>): void => {
    metrics.eventSlowConsumersTotal.inc({ transport });
    metrics.quotaRefusalsTotal.inc({ quota: 'event_stream_buffer' });
    log.warn({ ...context, transport, limit: maxBuffered }, 'event stream closed: the client reads too slowly');
  };

  app.get(
    '/v1/executions/:id/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-sent events of one execution; Last-Event-ID replays what was missed',
        params: IdParamsSchema,
        querystring: Type.Object({
          token: Type.Optional(Type.String({ description: 'The API key, for clients that cannot set a header (EventSource)' })),
          lastEventId: Type.Optional(Type.String({ description: 'As the Last-Event-ID header: replay what came after this event id' })),
        }),
        response: {
          200: {
            description: 'The stream: `id: <event id>`, `event: <type>`, `data: <event JSON>` per event, from the first (or after Last-Event-ID); '
              + 'comments (`: ping`) keep it open; it ends after the terminal event.',
            content: { 'text/event-stream': { schema: Type.String({ description: 'text/event-stream; each data line is one Event (components/schemas/Event)' }) } },
          },
          204: Type.Null({ description: 'The execution has ended and every event was delivered (Last-Event-ID is its last), or its events have expired: nothing more will come, so EventSource stops reconnecting' }),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      const workspaceId = request.workspaceId;
      const execution = await repos.executions.get({ workspaceId, executionId: request.params.id });
      if (!execution) throw notFound(`execution ${request.params.id}`);
      const header = request.headers['last-event-id'];
      const rawLast = (Array.isArray(header) ? header[0] : header) ?? request.query.lastEventId;
      const afterId = rawLast && isEventId(rawLast) ? rawLast : undefined;
      // An ended execution is not followed: what is left after Last-Event-ID is sent (events
      // published after its terminal one, such as the node.cancelled of a call aborted late,
      // included) and the stream ends. Nothing left: 204, the one answer that stops an
      // EventSource from reconnecting (a stream that just closes is reopened every few seconds).
      const ended = TERMINAL_EXECUTION_STATUSES.has(execution.status)
        ? (await deps.events.replay(execution.id, afterId)).filter((e) => e.workspaceId === workspaceId)
        : null;
      if (ended?.length === 0) {
        deps.metrics.eventStreamsEndedTotal.inc({ transport: 'sse' });
        return reply.code(204).send(null);
      }

      reply.hijack();
      const raw = reply.raw;
      // Headers set so far by hooks (x-request-id, CORS) go out with the stream's own.
      for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value);
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      if (ended) {
        raw.end(ended.map((e) => sseFrame(frameOf(e))).join(''));
        counted('sse', ended.length);
        return;
      }
      deps.metrics.eventSubscribers.inc({ transport: 'sse' });
      let off: (() => void) | null = null;
      let closed = false;
      const writer = new StreamWriter({
        buffered: () => raw.writableLength,
        write: (messages) => {
          raw.write(messages.length === 1 ? (messages[0] ?? '') : messages.join(''));
          counted('sse', messages.length);
        },
        overflow: (unsent) => {
          slowConsumer('sse', { workspaceId, executionId: execution.id, unsent });
          end();
          // Ended, it still holds what is buffered until the client reads it: not forever.
          setTimeout(() => { raw.destroy(); }, SLOW_CONSUMER_GRACE_MS).unref();
        },
      }, maxBuffered);
      const heartbeat = setInterval(() => { writer.push(': ping\n\n'); }, HEARTBEAT_MS);
      let forget = (): void => undefined;
      /** `drain`: what is queued goes out first (after the terminal event); not on a revocation. */
      const end = (drain = false): void => {
        if (closed) return;
        closed = true;
        if (drain) writer.flush();
        writer.stop();
        forget();
        clearInterval(heartbeat);
        off?.();
        deps.metrics.eventSubscribers.dec({ transport: 'sse' });
        raw.end();
      };
      request.raw.on('close', () => { end(); });
      // Revoking the key (or deleting the workspace) ends the stream.
      forget = app.apiKeys.connections.add({ workspaceId, keyId: request.apiKeyId, close: () => { end(); } });
      try {
        off = await app.hub.follow({
          workspaceId,
          executionId: execution.id,
          ...(afterId ? { afterId } : {}),
          send: (frame) => {
            if (closed) return;
            writer.push(sseFrame(frame));
            if (TERMINAL_EVENT_TYPES.has(frame.type)) end(true);
          },
        });
        if (closed) off();
        // A finished execution whose events already expired: nothing more will come.
        else if (['completed', 'failed', 'cancelled'].includes((await repos.executions.get({ workspaceId, executionId: execution.id }))?.status ?? '')
          && (await deps.events.replay(execution.id)).length === 0) end();
      } catch (err) {
        log.warn({ err, executionId: execution.id }, 'event stream failed');
        end();
      }
    },
  );

  app.get('/v1/ws', {
    websocket: true,
    schema: {
      tags: ['events'],
      summary: 'WebSocket: subscribe to executions or flows',
      querystring: Type.Object({ token: Type.Optional(Type.String({ description: 'The API key, for clients that cannot set a header' })) }),
      hide: false,
    },
  }, (socket: WebSocket, request) => {
    const workspaceId = request.workspaceId;
    const keyId = request.apiKeyId || workspaceId;
    const subscriptions = new Map<string, () => void>();
    // Subscriptions this socket holds against the caps, counted before their lookup completes.
    let held = 0;
    let closed = false;
    const release = (): void => {
      // The close released everything this socket held.
      if (closed) return;
      held -= 1;
      quota.release(keyId);
    };
    deps.metrics.eventSubscribers.inc({ transport: 'ws' });
    // Revoking the key (or deleting the workspace) closes the socket: 4401, as a 401 would answer.
    const forget = app.apiKeys.connections.add({ workspaceId, keyId: request.apiKeyId, close: () => { socket.close(4401, 'API key revoked'); } });
    // Acknowledgements and events share the writer: one order, one bound, one write per tick.
    const tcp = request.raw.socket;
    const writer = new StreamWriter({
      buffered: () => socket.bufferedAmount,
      write: (messages) => {
        if (socket.readyState !== socket.OPEN) return;
        if (messages.length === 1) {
          socket.send(messages[0] ?? '');
        } else {
          // Corked, the frames of one tick leave in one writev.
          tcp.cork();
          for (const message of messages) socket.send(message);
          tcp.uncork();
        }
        counted('ws', messages.length);
      },
      overflow: (unsent) => {
        slowConsumer('ws', { workspaceId, unsent });
        socket.close(SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER);
      },
    }, maxBuffered);
    const send = (message: unknown): void => { writer.push(JSON.stringify(message)); };
    const sendFrame = (frame: EventFrame): void => { writer.push(frame.json); };
    const error = (code: string, message: string): void => { send({ type: 'error', error: { code, message } }); };

    const handle = async (text: string): Promise<void> => {
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        error('invalid_json', 'messages must be JSON');
        return;
      }
      if (typeof msg !== 'object' || msg === null) {
        error('invalid_request', 'a message is an object with a type');
        return;
      }
      const { type, executionId, flowId, since } = msg as Record<string, unknown>;
      if (type !== 'subscribe' && type !== 'unsubscribe') {
        error('invalid_request', "type must be 'subscribe' or 'unsubscribe'");
        return;
      }
      const target = typeof executionId === 'string' ? { kind: 'execution' as const, id: executionId } : typeof flowId === 'string' ? { kind: 'flow' as const, id: flowId } : null;
      if (!target) {
        error('invalid_request', 'give executionId or flowId');
        return;
      }
      const key = `${target.kind}:${target.id}`;
      if (type === 'unsubscribe') {
        subscriptions.get(key)?.();
        if (subscriptions.delete(key)) release();
        send({ type: 'unsubscribed', [`${target.kind}Id`]: target.id });
        return;
      }
      if (subscriptions.has(key)) return;
      const cap = quota.acquire(keyId, held);
      if (cap) {
        deps.metrics.quotaRefusalsTotal.inc({ quota: cap });
        log.info({ workspaceId, quota: cap, limit: quota.limitOf(cap) }, 'websocket subscription refused');
        const whose = cap === 'ws_per_socket' ? 'this socket' : 'this API key';
        error('subscription_limit_exceeded', `${whose} holds ${quota.limitOf(cap)} subscriptions, the most allowed: unsubscribe from one first`);
        return;
      }
      held += 1;
      if (target.kind === 'execution') {
        const execution = isUuid(target.id) ? await repos.executions.get({ workspaceId, executionId: target.id }) : null;
        if (!execution) {
          release();
          error('not_found', `execution ${target.id} not found`);
          return;
        }
        const afterId = typeof since === 'string' && isEventId(since) ? since : undefined;
        // Subscribing to an execution replays its events so far, then goes live.
        subscriptions.set(key, () => undefined);
        send({ type: 'subscribed', executionId: execution.id });
        const off = await app.hub.follow({ workspaceId, executionId: execution.id, ...(afterId ? { afterId } : {}), send: sendFrame });
        if (subscriptions.has(key)) subscriptions.set(key, off);
        else off();
      } else {
        const flow = isUuid(target.id) ? await repos.flows.get({ workspaceId, flowId: target.id }) : null;
        if (!flow) {
          release();
          error('not_found', `flow ${target.id} not found`);
          return;
        }
        subscriptions.set(key, app.hub.onFlow(workspaceId, flow.id, sendFrame));
        send({ type: 'subscribed', flowId: flow.id });
      }
    };

    socket.on('message', (data: Buffer) => {
      handle(data.toString('utf8')).catch((err: unknown) => {
        log.warn({ err }, 'websocket message failed');
        error('internal_error', 'could not handle the message');
      });
    });
    socket.on('close', () => {
      forget();
      for (const off of subscriptions.values()) off();
      subscriptions.clear();
      quota.release(keyId, held);
      held = 0;
      closed = true;
      writer.stop();
      deps.metrics.eventSubscribers.dec({ transport: 'ws' });
    });
  });
  return Promise.resolve();
};
