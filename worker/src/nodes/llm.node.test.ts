/**
 * Which credential an LLM node uses: the workspace's own, else (only with WEFT_ALLOW_ENV_KEYS)
 * the environment's, else a clear permanent error. Calls go through the real SDK to the mock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '@weft/shared/adapters/memory';
import { WeftError } from '@weft/shared/errors';
import type { LlmNode } from '@weft/shared/flow';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import type { LlmCredential } from '@weft/shared/ports';
import { ProviderGuard } from '../providers/guard/index.js';
import { createOpenAiProvider } from '../providers/openai-provider.js';
import { ProviderClients } from '../providers/provider-clients.js';
import { createLlmNodeExecutor } from './llm.node.js';

const node: LlmNode = { id: 'n', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Hi {{input.who}}', stream: false };

describe('LLM node credentials', () => {
  let mock: MockLlm;
  const logger = createLogger({ level: 'silent', name: 'test' });
  const metrics = createMetrics();
  const guard = new ProviderGuard({
    breaker: { errorThresholdPercentage: 50, volumeThreshold: 10, resetTimeoutMs: 1000, rollingWindowMs: 10_000 },
    rateLimits: {}, limiter: new MemoryRateLimiter(), logger, metrics,
  });
  beforeAll(async () => { mock = await startMockLlm({ port: 0, host: '127.0.0.1' }); });
  afterAll(async () => {
    guard.close();
    await mock.close();
  });

  async function run(input: { stored: LlmCredential | null; envKeys?: Partial<Record<'openai', string>> }): Promise<LlmCredential[]> {
    const used: LlmCredential[] = [];
    const clients = new ProviderClients({
      credentials: { credential: async () => input.stored },
      egress: { egressPolicy: async () => ({ allowPrivateNetworks: false }) },
      envKeys: input.envKeys,
      ttlMs: 60_000,
      max: 10,
      // Records the credential chosen, and still calls the mock through the real SDK.
      createProvider: (_name, credential) => {
        used.push(credential);
        return createOpenAiProvider({ apiKey: credential.apiKey, baseUrl: `${mock.url}/v1` });
      },
    });
    const execute = createLlmNodeExecutor({
      clients,
      prices: { quote: async () => ({ pricing: 'unpriced', prices: null, pricedAs: null }) },
      metrics,
      guard,
    });
    await execute({
      node, outEdges: [], workspaceId: 'ws', executionId: 'ex', attempt: 1, input: { who: 'there' }, results: {},
      signal: new AbortController().signal, logger, emitToken: () => undefined,
    });
    return used;
  }

  it("uses the workspace's own key, even when environment keys are allowed", async () => {
    expect(await run({ stored: { apiKey: 'sk-workspace', baseUrl: null }, envKeys: { openai: 'sk-env' } })).toEqual([{ apiKey: 'sk-workspace', baseUrl: null }]);
  });

  it('falls back to the environment key only when allowed and the workspace has none', async () => {
    expect(await run({ stored: null, envKeys: { openai: 'sk-env' } })).toEqual([{ apiKey: 'sk-env', baseUrl: null }]);
    const err = await run({ stored: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeftError);
    expect((err as WeftError).code).toBe('LLM_NO_CREDENTIALS');
    expect((err as WeftError).category).toBe('permanent');
  });
});
