/**
 * Condition and switch nodes end to end, on real processes: distributed (api + 2 workers on
 * Redis and Postgres, so the skip bookkeeping runs in the Lua scripts) and embedded (one
 * process, in-memory state store). LLM nodes call the mock provider through the openai SDK.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startMockedDistributed, startMockedEmbedded, type MockedTarget } from '../helpers/targets.js';
import { branchFanInScenario, conditionBranchScenario, switchBranchScenario } from './branch-scenarios.js';

describe('branches, distributed: api + 2 workers on Redis and Postgres', () => {
  let svc: TestServices;
  let target: MockedTarget;

  beforeAll(async () => {
    svc = await createTestServices();
    // One job per worker: the two sides of a fan-in run on different workers.
    target = await startMockedDistributed(svc, { workspace: 'branches', workerConcurrency: 1 });
  }, 120_000);

  afterAll(async () => {
    await target?.stop();
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
  let target: MockedTarget;

  beforeAll(async () => {
    target = await startMockedEmbedded('branches');
  }, 120_000);

  afterAll(async () => {
    await target?.stop();
  });

  it('runs the condition, switch and fan-in scenarios like distributed mode', async () => {
    await conditionBranchScenario(target);
    await switchBranchScenario(target);
    await branchFanInScenario(target);
  }, 60_000);
});
