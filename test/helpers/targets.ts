/**
 * E2e targets with LLM nodes pointed at a mock provider: a distributed stack (api + workers on
 * the given Redis and Postgres) with a workspace whose openai credential is the mock. Suites that
 * only need "a running Weft to send flows to" start one of these (embedded mode has one process,
 * in embedded.test.ts).
 */
import { expect } from 'vitest';
import { startMockLlm } from '@weft/shared/mock-llm';
import { apiClient } from './http.js';
import type { TestServices } from './services.js';
import { startDistributedStack, type DistributedStack } from './stack.js';
import { startGate } from './gate.js';
import type { Target } from '../e2e/scenarios.js';

/**
 * The scenarios of one suite share a workspace and fail provider calls on purpose (429s, 500s,
 * timeouts). The (workspace, provider) circuit breaker would couple them through its window: on
 * a slow machine one scenario's failures open it for the next one's calls (for 30 s). Its
 * threshold is out of their reach here; the breaker has its own suite (provider-guard.test.ts).
 */
export const SCENARIO_BREAKER = { WEFT_BREAKER_MIN_REQUESTS: '100000' } as const;

export interface MockedTarget extends Target {
  stop(): Promise<void>;
}

/**
 * Lets the workspace's provider calls reach loopback, where the test's mock listens: provider
 * base URLs get the same egress wall as http nodes.
 */
export async function allowLoopbackProviders(baseUrl: string, apiKey: string): Promise<void> {
  const res = await apiClient(baseUrl, apiKey)('PATCH', '/v1/workspace', { httpAllowPrivateNetworks: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Stores the mock (or a gate in front of it) as the workspace's openai credential, and lets the workspace reach it. */
export async function useMockCredentials(baseUrl: string, apiKey: string, provider: { url: string }): Promise<void> {
  await allowLoopbackProviders(baseUrl, apiKey);
  const res = await apiClient(baseUrl, apiKey)('PUT', '/v1/credentials/openai', { apiKey: 'sk-test-mocked', baseUrl: `${provider.url}/v1` });
  expect(res.status, JSON.stringify(res.body)).toBe(204);
}

export async function startMockedDistributed(svc: TestServices, options: { workspace: string; workerConcurrency: number }): Promise<MockedTarget & { stack: DistributedStack }> {
  const mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
  const gate = await startGate(mock.url);
  const stack = await startDistributedStack({ ...svc, workers: ['w1', 'w2'], env: { WORKER_CONCURRENCY: String(options.workerConcurrency), ...SCENARIO_BREAKER } });
  const apiKey = await stack.createWorkspace(options.workspace);
  await useMockCredentials(stack.baseUrl, apiKey, gate);
  return {
    baseUrl: stack.baseUrl, apiKey, mock, gate, stack,
    async stop() {
      await stack.stop();
      await gate.close();
      await mock.close();
    },
  };
}
