/**
 * Condition and switch nodes end to end, on real processes: distributed (api + 2 workers on
 * Redis and Postgres, so the skip bookkeeping runs in the Lua scripts) and embedded (one
 * process, in-memory state store). LLM nodes call the mock provider through the openai SDK.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { apiClient } from '../helpers/http.js';
import { freePort, startWeftProcess, waitForHttp, type WeftProcess } from '../helpers/processes.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';
import { branchFanInScenario, conditionBranchScenario, switchBranchScenario } from './branch-scenarios.js';
import type { Target } from './scenarios.js';


async function useMockCredentials(baseUrl: string, apiKey: string, mock: MockLlm): Promise<void> {
  const res = await apiClient(baseUrl, apiKey)('PUT', '/v1/credentials/openai', { apiKey: 'sk-test-branches', baseUrl: `${mock.url}/v1` });
  expect(res.status, JSON.stringify(res.body)).toBe(204);
}

describe('branches, distributed: api + 2 workers on Redis and Postgres', () => {
  let svc: TestServices;
  let mock: MockLlm;
  let stack: DistributedStack;
  let target: Target;

  beforeAll(async () => {
    svc = await createTestServices();
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    // One job per worker: the two sides of a fan-in run on different workers.
    stack = await startDistributedStack({ ...svc, workers: ['w1', 'w2'], env: { WORKER_CONCURRENCY: '1' } });
    const baseUrl = stack.baseUrl;
    const apiKey = await stack.createWorkspace('branches');
    await useMockCredentials(baseUrl, apiKey, mock);
    target = { baseUrl, apiKey, mock };
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await mock?.close();
    await svc?.cleanup();
  });

  it('condition: only the taken side runs, the other and its downstream are skipped, the join runs once', async () => {
    await conditionBranchScenario(target);
  });

  it('switch: three cases and a default, one handler runs, the join runs once', async () => {
    await switchBranchScenario(target);
  });

  it('a fan-in after a skipped side that also has a parent outside the branch runs once, in either commit order', async () => {
    await branchFanInScenario(target);
  });
});

describe('branches, embedded: one process, in-memory state store', () => {
  let dataDir: string;
  let proc: WeftProcess;
  let mock: MockLlm;
  let target: Target;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'weft-branches-'));
    const port = await freePort();
    proc = startWeftProcess({
      name: 'embedded',
      script: 'api/src/main.ts',
      env: { REDIS_URL: undefined, DATABASE_URL: undefined, WEFT_MASTER_KEY: undefined, WEFT_ADMIN_TOKEN: undefined, WEFT_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${baseUrl}/health/ready`, proc, 90_000);
    const keyFile = join(dataDir, 'local-workspace.json');
    await waitFor(() => existsSync(keyFile), { timeoutMs: 30_000, message: 'local workspace written' });
    const apiKey = (JSON.parse(readFileSync(keyFile, 'utf8')) as { apiKey: string }).apiKey;
    mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    await useMockCredentials(baseUrl, apiKey, mock);
    target = { baseUrl, apiKey, mock };
  }, 120_000);

  afterAll(async () => {
    await proc?.stop();
    await mock?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the condition, switch and fan-in scenarios like distributed mode', async () => {
    await conditionBranchScenario(target);
    await switchBranchScenario(target);
    await branchFanInScenario(target);
  }, 60_000);
});
