/**
 * ProviderClients: what a warm call reads (nothing), what an invalidation drops, how the TTL
 * bounds a lost one, and what stands in while Postgres is down. Pure: the sources are plain
 * objects counting their reads, the factory counts the clients it builds.
 */
import { describe, expect, it } from 'vitest';
import type { LlmProviderName } from '@weft/shared/flow';
import { createMetrics } from '@weft/shared/metrics';
import type { LlmCredential, LlmProvider } from '@weft/shared/ports';
import type { NodeSourcesOptions } from '../sources/node-sources.js';
import { createNodeSources } from '../sources/node-sources.js';
import type { EgressPolicy } from '../nodes/sources.js';
import { ProviderClients, type ProviderClientsOptions } from './provider-clients.js';

interface World {
  keys: Map<string, LlmCredential | null>;
  allowPrivate: Map<string, boolean>;
  reads: { credentials: number; egress: number };
  built: Array<{ name: LlmProviderName; credential: LlmCredential; egress: EgressPolicy }>;
  clock: { now: number };
  /** Resolves pending reads when set: lets a test hold a read in flight. */
  gate: Promise<void> | null;
}

function world(): World {
  return { keys: new Map(), allowPrivate: new Map(), reads: { credentials: 0, egress: 0 }, built: [], clock: { now: 0 }, gate: null };
}

function clientsOver(w: World, options: Partial<ProviderClientsOptions> = {}): { clients: ProviderClients; metrics: ReturnType<typeof createMetrics> } {
  const metrics = createMetrics();
  const clients = new ProviderClients({
    credentials: {
      credential: async (workspaceId, provider) => {
        w.reads.credentials += 1;
        if (w.gate) await w.gate;
        return w.keys.get(`${workspaceId}/${provider}`) ?? null;
      },
    },
    egress: {
      egressPolicy: async (workspaceId) => {
        w.reads.egress += 1;
        if (w.gate) await w.gate;
        return { allowPrivateNetworks: w.allowPrivate.get(workspaceId) === true };
      },
    },
    createProvider: (name, credential, egress) => {
      w.built.push({ name, credential, egress });
      return { name } as LlmProvider;
    },
    ttlMs: 60_000,
    max: 100,
    metrics,
    now: () => w.clock.now,
    ...options,
  });
  return { clients, metrics };
}

async function counted(metrics: ReturnType<typeof createMetrics>, result: string): Promise<number> {
  const { values } = await metrics.providerClientCacheTotal.get();
  return values.filter((v) => v.labels.result === result).reduce((sum, v) => sum + v.value, 0);
}

describe('ProviderClients', () => {
  it('builds one client per workspace and provider: a warm call reads nothing and builds nothing', async () => {
    const w = world();
    w.keys.set('ws/openai', { apiKey: 'sk-1', baseUrl: null });
    w.keys.set('ws/anthropic', { apiKey: 'sk-a', baseUrl: null });
    const { clients, metrics } = clientsOver(w);
    const first = await clients.client('ws', 'openai');
    const again = await clients.client('ws', 'openai');
    expect(again).toBe(first);
    expect(first).toMatchObject({ credential: { apiKey: 'sk-1' }, source: 'workspace' });
    expect(w.reads).toEqual({ credentials: 1, egress: 1 });
    expect(w.built).toHaveLength(1);
    expect(await clients.client('ws', 'anthropic')).not.toBe(first);
    expect(w.built).toHaveLength(2);
    expect([await counted(metrics, 'hit'), await counted(metrics, 'miss')]).toEqual([1, 2]);
  });

  it('lets concurrent misses of one key share one read', async () => {
    const w = world();
    w.keys.set('ws/openai', { apiKey: 'sk-1', baseUrl: null });
    let open!: () => void;
    w.gate = new Promise((resolve) => { open = resolve; });
    const { clients } = clientsOver(w);
    const calls = Promise.all([clients.client('ws', 'openai'), clients.client('ws', 'openai'), clients.client('ws', 'openai')]);
    open();
    const [a, b, c] = await calls;
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(w.reads.credentials).toBe(1);
    expect(w.built).toHaveLength(1);
  });

  it('drops what an invalidation names, and only that', async () => {
    const w = world();
    for (const key of ['ws/openai', 'ws/anthropic', 'other/openai']) w.keys.set(key, { apiKey: `sk-${key}`, baseUrl: null });
    const { clients, metrics } = clientsOver(w);
    const warm = async (): Promise<void> => {
      await Promise.all([clients.client('ws', 'openai'), clients.client('ws', 'anthropic'), clients.client('other', 'openai')]);
    };
    await warm();
    expect(clients.size).toBe(3);

    w.keys.set('ws/openai', { apiKey: 'sk-2', baseUrl: null });
    expect(clients.invalidate({ reason: 'credential', workspaceId: 'ws', provider: 'openai' })).toBe(1);
    expect((await clients.client('ws', 'openai'))?.credential.apiKey).toBe('sk-2');
    expect(w.reads.credentials).toBe(4);
    await warm();
    expect(w.reads.credentials).toBe(4);

    expect(clients.invalidate({ reason: 'egress', workspaceId: 'ws' })).toBe(2);
    expect(clients.size).toBe(1);
    expect(clients.invalidate({ reason: 'workspace_deleted', workspaceId: 'other' })).toBe(1);
    expect(clients.size).toBe(0);
    expect(await counted(metrics, 'invalidated')).toBe(4);
  });

  it('gives a deleted credential no client, and caches no absence', async () => {
    const w = world();
    w.keys.set('ws/openai', { apiKey: 'sk-1', baseUrl: null });
    const { clients } = clientsOver(w);
    expect(await clients.client('ws', 'openai')).not.toBeNull();
    w.keys.delete('ws/openai');
    clients.invalidate({ reason: 'credential', workspaceId: 'ws', provider: 'openai' });
    expect(await clients.client('ws', 'openai')).toBeNull();
    w.keys.set('ws/openai', { apiKey: 'sk-3', baseUrl: null });
    // No message needed: a missing credential is read again on every call.
    expect((await clients.client('ws', 'openai'))?.credential.apiKey).toBe('sk-3');
  });

  it('does not keep what a read begun before an invalidation found', async () => {
    const w = world();
    w.keys.set('ws/openai', { apiKey: 'sk-old', baseUrl: null });
    let open!: () => void;
    w.gate = new Promise((resolve) => { open = resolve; });
    const { clients } = clientsOver(w);
    const racing = clients.client('ws', 'openai');
    // The key changes and the change is announced while the read is in flight.
    clients.invalidate({ reason: 'credential', workspaceId: 'ws', provider: 'openai' });
    w.gate = null;
    open();
    expect((await racing)?.credential.apiKey).toBe('sk-old');
    w.keys.set('ws/openai', { apiKey: 'sk-new', baseUrl: null });
    expect((await clients.client('ws', 'openai'))?.credential.apiKey).toBe('sk-new');
  });

  it('reads again past the TTL: keeps the client when nothing changed, rebuilds it on a new key or policy', async () => {
    const w = world();
    w.keys.set('ws/openai', { apiKey: 'sk-1', baseUrl: null });
    const { clients, metrics } = clientsOver(w, { ttlMs: 1000 });
    const first = await clients.client('ws', 'openai');
    w.keys.set('ws/openai', { apiKey: 'sk-2', baseUrl: null });
    // A change whose message was lost: the entry is trusted until its TTL.
    w.clock.now = 999;
    expect(await clients.client('ws', 'openai')).toBe(first);
    expect(first?.credential.apiKey).toBe('sk-1');
    w.clock.now = 1000;
    const second = await clients.client('ws', 'openai');
    expect(second?.credential.apiKey).toBe('sk-2');
    expect(w.built).toHaveLength(2);

    w.clock.now = 2000;
    expect(await clients.client('ws', 'openai')).toBe(second);
    expect(w.built).toHaveLength(2);

    w.allowPrivate.set('ws', true);
    w.clock.now = 3000;
    const third = await clients.client('ws', 'openai');
    expect(third).not.toBe(second);
    expect(w.built.at(-1)?.egress).toEqual({ allowPrivateNetworks: true });
    expect(await counted(metrics, 'reload')).toBe(3);
  });

  it('keeps at most `max` clients, least recently used dropped first', async () => {
    const w = world();
    for (const ws of ['a', 'b', 'c']) w.keys.set(`${ws}/openai`, { apiKey: `sk-${ws}`, baseUrl: null });
    const { clients, metrics } = clientsOver(w, { max: 2 });
    await clients.client('a', 'openai');
    await clients.client('b', 'openai');
    await clients.client('a', 'openai');
    await clients.client('c', 'openai');
    expect(clients.size).toBe(2);
    expect(await counted(metrics, 'evicted')).toBe(1);
    const reads = w.reads.credentials;
    await clients.client('a', 'openai');
    expect(w.reads.credentials).toBe(reads);
    await clients.client('b', 'openai');
    expect(w.reads.credentials).toBe(reads + 1);
  });

  it('uses the environment key only for a workspace without a credential', async () => {
    const w = world();
    const { clients } = clientsOver(w, { envKeys: { openai: 'sk-env' } });
    expect(await clients.client('ws', 'openai')).toMatchObject({ credential: { apiKey: 'sk-env', baseUrl: null }, source: 'environment' });
    expect(await clients.client('ws', 'anthropic')).toBeNull();
  });

  it('with a TTL of 0 caches nothing: every call reads and builds', async () => {
    const w = world();
    w.keys.set('ws/openai', { apiKey: 'sk-1', baseUrl: null });
    const { clients } = clientsOver(w, { ttlMs: 0 });
    await clients.client('ws', 'openai');
    await clients.client('ws', 'openai');
    expect(w.reads.credentials).toBe(2);
    expect(w.built).toHaveLength(2);
  });

  it('over the repos, keeps the last known credential and client while Postgres is down, even past the TTL', async () => {
    const state = { down: false, key: 'sk-1' };
    const up = <T>(value: () => T): Promise<T> => (state.down ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve(value()));
    const repos = {
      credentials: { resolve: () => up(() => ({ apiKey: state.key, baseUrl: null })) },
      workspaces: { getSettings: () => up(() => ({ httpAllowPrivateNetworks: false, fallbackPrice: null })) },
      pricing: { list: () => up(() => []) },
      secrets: { resolveMany: () => up(() => ({})) },
    } as unknown as NodeSourcesOptions['repos'];
    const sources = createNodeSources({ repos });
    const w = world();
    const { clients } = clientsOver(w, { credentials: sources.credentials, egress: sources.egress, ttlMs: 1000 });
    const first = await clients.client('ws', 'openai');
    state.down = true;
    expect(await clients.client('ws', 'openai')).toBe(first);
    w.clock.now = 5000;
    expect(await clients.client('ws', 'openai')).toBe(first);
    await expect(clients.client('never-seen', 'openai')).rejects.toThrow('ECONNREFUSED');
    expect(w.built).toHaveLength(1);
  });
});
