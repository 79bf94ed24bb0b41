/**
 * E2e targets with LLM nodes pointed at a mock provider: a distributed stack (api + workers on
 * the given Redis and Postgres) or an embedded process (in-memory adapters, its own data dir),
 * each with a workspace whose openai credential is the mock. Suites that only need "a running
 * Weft to send flows to" start one of these.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { apiClient } from './http.js';
import { freePort, startWeftProcess, waitForHttp } from './processes.js';
import type { TestServices } from './services.js';
import { startDistributedStack, type DistributedStack } from './stack.js';
import { waitFor } from './wait-for.js';

export interface MockedTarget {
  baseUrl: string;
  apiKey: string;
  mock: MockLlm;
  stop(): Promise<void>;
}

/** Stores the mock as the workspace's openai credential. */
export async function useMockCredentials(baseUrl: string, apiKey: string, mock: MockLlm): Promise<void> {
  const res = await apiClient(baseUrl, apiKey)('PUT', '/v1/credentials/openai', { apiKey: 'sk-test-mocked', baseUrl: `${mock.url}/v1` });
  expect(res.status, JSON.stringify(res.body)).toBe(204);
}

export async function startMockedDistributed(svc: TestServices, options: { workspace: string; workerConcurrency: number }): Promise<MockedTarget & { stack: DistributedStack }> {
  const mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
  const stack = await startDistributedStack({ ...svc, workers: ['w1', 'w2'], env: { WORKER_CONCURRENCY: String(options.workerConcurrency) } });
  const apiKey = await stack.createWorkspace(options.workspace);
  await useMockCredentials(stack.baseUrl, apiKey, mock);
  return {
    baseUrl: stack.baseUrl, apiKey, mock, stack,
    async stop() {
      await stack.stop();
      await mock.close();
    },
  };
}

export async function startMockedEmbedded(name: string): Promise<MockedTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), `weft-${name}-`));
  const port = await freePort();
  const proc = startWeftProcess({
    name: 'embedded',
    script: 'api/embedded/src/main.ts',
    env: { REDIS_URL: undefined, DATABASE_URL: undefined, WEFT_MASTER_KEY: undefined, WEFT_ADMIN_TOKEN: undefined, WEFT_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/health/ready`, proc, 90_000);
  const keyFile = join(dataDir, 'local-workspace.json');
  await waitFor(() => existsSync(keyFile), { timeoutMs: 30_000, message: 'local workspace written' });
  const apiKey = (JSON.parse(readFileSync(keyFile, 'utf8')) as { apiKey: string }).apiKey;
  const mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
  await useMockCredentials(baseUrl, apiKey, mock);
  return {
    baseUrl, apiKey, mock,
    async stop() {
      await proc.stop();
      await mock.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
