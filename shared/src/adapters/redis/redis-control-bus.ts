/** ControlBus over Redis pub/sub: one channel per key prefix, one subscriber connection. */
import { duplicateRedis, type RedisClient } from './connection.js';
import { LLM_PROVIDERS } from '../../flow/types.js';
import { PROVIDER_CLIENT_INVALIDATION_REASONS, type ControlBus, type ControlMessage, type ProviderClientsInvalidated } from '../../ports/control-bus.js';
import type { Unsubscribe } from '../../ports/event-bus.js';

export function controlChannel(prefix: string): string {
  return `${prefix}:control`;
}

function stringsOf(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : undefined;
}

function parseProviderClientsInvalidated(value: { reason?: unknown; workspaceId?: unknown; provider?: unknown }): ProviderClientsInvalidated | null {
  const reason = PROVIDER_CLIENT_INVALIDATION_REASONS.find((r) => r === value.reason);
  if (reason === undefined || typeof value.workspaceId !== 'string') return null;
  const message: ProviderClientsInvalidated = { type: 'provider-clients-invalidated', reason, workspaceId: value.workspaceId };
  if (value.provider !== undefined) {
    const provider = LLM_PROVIDERS.find((p) => p === value.provider);
    // An unknown provider (a newer publisher) drops every client of the workspace: never too few.
    if (provider !== undefined) message.provider = provider;
  }
  return message;
}

function parseControl(text: string): ControlMessage | null {
  try {
    const value = JSON.parse(text) as { type?: unknown; executionId?: unknown; workspaceId?: unknown; nodeIds?: unknown; keyIds?: unknown; reason?: unknown; provider?: unknown };
    if (value.type === 'cancel' && typeof value.executionId === 'string') {
      const nodeIds = stringsOf(value.nodeIds);
      return nodeIds ? { type: 'cancel', executionId: value.executionId, nodeIds } : { type: 'cancel', executionId: value.executionId };
    }
    if (value.type === 'provider-clients-invalidated') return parseProviderClientsInvalidated(value);
    if (value.type === 'api-keys-revoked' && typeof value.workspaceId === 'string') {
      const keyIds = stringsOf(value.keyIds);
      return keyIds ? { type: 'api-keys-revoked', workspaceId: value.workspaceId, keyIds } : { type: 'api-keys-revoked', workspaceId: value.workspaceId };
    }
  } catch {
    // Not ours: ignored.
  }
  return null;
}

export class RedisControlBus implements ControlBus {
  private subscriber: RedisClient | null = null;
  private readonly handlers = new Set<(message: ControlMessage) => void>();

  constructor(private readonly options: { redis: RedisClient; prefix: string }) {}

  async publish(message: ControlMessage): Promise<void> {
    await this.options.redis.publish(controlChannel(this.options.prefix), JSON.stringify(message));
  }

  async subscribe(handler: (message: ControlMessage) => void): Promise<Unsubscribe> {
    if (!this.subscriber) {
      // A subscriber waits for Redis and resubscribes after an outage: it never takes the fail-fast
      // options of the api's command connection (no offline queue, a command timeout).
      const sub = duplicateRedis(this.options.redis, { enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
      this.subscriber = sub;
      sub.on('message', (_channel: string, text: string) => {
        const message = parseControl(text);
        if (message) for (const h of this.handlers) h(message);
      });
      await sub.subscribe(controlChannel(this.options.prefix));
    }
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
      return Promise.resolve();
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) await sub.quit().catch(() => { sub.disconnect(); });
  }
}
