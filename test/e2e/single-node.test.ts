/**
 * Single-node runs on real processes: one api and one worker sharing Redis and Postgres, LLM
 * nodes through the official openai SDK to the mock provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { apiClient } from '../helpers/http.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack } from '../helpers/stack.js';
import type { Target } from './scenarios.js';
import { singleNodeRunScenario } from './single-node-scenarios.js';

describe('single-node runs: api + 1 worker on Redis and Postgres', () => {
  let svc: TestServices;
  let mock: MockLlm;
  let stack: DistributedStack;
  let target: Target;

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    stack = await startDistributedStack({ ...svc, workers: ['w1'] });
    const apiKey = await stack.createWorkspace('e2e-single-node');
    const cred = await apiClient(stack.baseUrl, apiKey)('PUT', '/v1/credentials/openai', { apiKey: 'sk-test-e2e-key', baseUrl: `${mock.url}/v1` });
    expect(cred.status).toBe(204);
    target = { baseUrl: stack.baseUrl, apiKey, mock };
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await mock?.close();
    await svc?.cleanup();
  });

  it('a single-node run uses the newest upstream outputs', async () => {
    await singleNodeRunScenario(target);
  }, 90_000);
});
