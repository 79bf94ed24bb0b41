/** The node sources over the repos: what each reads, and what stands in while the database is down. */
import { describe, expect, it } from 'vitest';
import type { ModelPrice } from '@weft/db/repos';
import { createNodeSources, type NodeSourcesOptions } from './node-sources.js';

const price: ModelPrice = { provider: 'openai', model: 'gpt-x', inputPer1M: 2, outputPer1M: 1, reasoningPer1M: 1, cachedPer1M: 1 };

type Settings = { httpAllowPrivateNetworks: boolean; fallbackPrice?: Omit<ModelPrice, 'provider' | 'model'> | null };

function fakeRepos(state: { down: boolean; key: string | null; settings: Settings | null }): {
  repos: NodeSourcesOptions['repos'];
  reads: { credentials: number; prices: number; settings: number; secrets: string[][] };
} {
  const reads = { credentials: 0, prices: 0, settings: 0, secrets: [] as string[][] };
  const up = <T>(value: () => T): Promise<T> => (state.down ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve(value()));
  const repos = {
    credentials: { resolve: () => up(() => { reads.credentials += 1; return state.key === null ? null : { apiKey: state.key, baseUrl: null }; }) },
    pricing: { list: () => up(() => { reads.prices += 1; return [price]; }) },
    secrets: { resolveMany: (_ws: string, names: readonly string[]) => up(() => { reads.secrets.push([...names]); return { TOKEN: 't' }; }) },
    workspaces: { getSettings: () => up(() => { reads.settings += 1; return state.settings; }) },
  };
  return { repos: repos as unknown as NodeSourcesOptions['repos'], reads };
}

describe('node sources over the repos', () => {
  it('reads the credential on every call, and lets the last known one stand in while the database is down', async () => {
    const state = { down: false, key: 'sk-1' as string | null, settings: null };
    const { repos, reads } = fakeRepos(state);
    const { credentials } = createNodeSources({ repos });
    expect(await credentials.credential('ws', 'openai')).toEqual({ apiKey: 'sk-1', baseUrl: null });
    state.key = 'sk-2';
    expect(await credentials.credential('ws', 'openai')).toEqual({ apiKey: 'sk-2', baseUrl: null });
    expect(reads.credentials).toBe(2);
    state.down = true;
    expect(await credentials.credential('ws', 'openai')).toEqual({ apiKey: 'sk-2', baseUrl: null });
    await expect(credentials.credential('ws', 'anthropic')).rejects.toThrow('ECONNREFUSED');
  });

  it('keeps the price table for its ttl', async () => {
    const { repos, reads } = fakeRepos({ down: false, key: null, settings: null });
    const { prices } = createNodeSources({ repos, cacheTtlMs: 60_000 });
    expect(await prices.quote('ws', 'openai', 'gpt-x')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-x', prices: { inputPer1M: 2 } });
    expect(await prices.quote('ws', 'openai', 'gpt-x-2025-01-31')).toMatchObject({ pricing: 'priced', pricedAs: 'gpt-x', prices: { inputPer1M: 2 } });
    expect(reads.prices).toBe(1);
    // A priced model never reads the workspace's settings.
    expect(reads.settings).toBe(0);
  });

  it('prices a model the table lacks with the workspace fallback, kept through an outage, else marks it unpriced', async () => {
    const fallbackPrice = { inputPer1M: 7, outputPer1M: 8, reasoningPer1M: 8, cachedPer1M: 7 };
    const state: { down: boolean; key: null; settings: Settings | null } = { down: false, key: null, settings: { httpAllowPrivateNetworks: false, fallbackPrice: null } };
    const { repos } = fakeRepos(state);
    const { prices } = createNodeSources({ repos, cacheTtlMs: 60_000 });
    expect(await prices.quote('ws', 'openai', 'ft:gpt-x:org::1')).toEqual({ pricing: 'unpriced', prices: null, pricedAs: null });
    state.settings = { httpAllowPrivateNetworks: false, fallbackPrice };
    expect(await prices.quote('ws', 'openai', 'ft:gpt-x:org::1')).toEqual({ pricing: 'fallback', prices: fallbackPrice, pricedAs: null });
    state.down = true;
    expect(await prices.quote('ws', 'openai', 'ft:gpt-x:org::1')).toEqual({ pricing: 'fallback', prices: fallbackPrice, pricedAs: null });
  });

  it('without a settings TTL, reads secrets and the egress policy per call; a workspace without settings gets the strict policy; the last known policy stands in while the database is down', async () => {
    const state = { down: false, key: null, settings: { httpAllowPrivateNetworks: true } as Settings | null };
    const { repos, reads } = fakeRepos(state);
    const { secrets, egress } = createNodeSources({ repos });
    expect(await secrets.secrets('ws', ['TOKEN'])).toEqual({ TOKEN: 't' });
    expect(reads.secrets).toEqual([['TOKEN']]);
    expect(await egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: true });
    state.settings = null;
    expect(await egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: false });
    state.settings = { httpAllowPrivateNetworks: true };
    expect(await egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: true });
    state.down = true;
    expect(await egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: true });
    await expect(egress.egressPolicy('never-read')).rejects.toThrow('ECONNREFUSED');
  });

  it('with a settings TTL, reads a workspace\'s settings once for its egress policy and fallback price, and again once forgotten', async () => {
    const fallbackPrice = { inputPer1M: 7, outputPer1M: 8, reasoningPer1M: 8, cachedPer1M: 7 };
    const state = { down: false, key: null, settings: { httpAllowPrivateNetworks: true, fallbackPrice } as Settings | null };
    const { repos, reads } = fakeRepos(state);
    const sources = createNodeSources({ repos, cacheTtlMs: 60_000, settingsTtlMs: 60_000 });
    expect(await sources.egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: true });
    expect(await sources.prices.quote('ws', 'openai', 'ft:gpt-x:org::1')).toEqual({ pricing: 'fallback', prices: fallbackPrice, pricedAs: null });
    expect(await sources.egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: true });
    expect(reads.settings).toBe(1);

    state.settings = { httpAllowPrivateNetworks: false, fallbackPrice: null };
    expect(await sources.egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: true });
    sources.forgetWorkspace('other');
    expect(await sources.egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: true });
    sources.forgetWorkspace('ws');
    expect(await sources.prices.quote('ws', 'openai', 'ft:gpt-x:org::1')).toEqual({ pricing: 'unpriced', prices: null, pricedAs: null });
    expect(await sources.egress.egressPolicy('ws')).toEqual({ allowPrivateNetworks: false });
    expect(reads.settings).toBe(2);
  });
});
