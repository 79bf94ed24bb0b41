/**
 * The stack the kill tests share: an api and two workers (w1, w2) with short queue locks, so a
 * killed worker's jobs are redelivered within seconds, reaching the mock LLM through a gate that
 * a test holds before a kill (the dead worker's call is then provably in flight). Registers its
 * own beforeAll/afterAll; the returned function answers the running parts inside a test.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';
import { createTestServices, type TestServices } from './services.js';
import { startDistributedStack, type DistributedStack, STACK_START_MS } from './stack.js';
import { startGate, type Gate } from './gate.js';

export interface GatedStack {
  svc: TestServices;
  stack: DistributedStack;
  mock: MockLlm;
  gate: Gate;
  /** A client of the stack's Redis, to read hot state. */
  redis: Redis;
}

export function useGatedTwoWorkerStack(): () => GatedStack {
  let parts: Partial<GatedStack> = {};
  beforeAll(async () => {
    const svc = await createTestServices();
    parts.svc = svc;
    parts.mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
    parts.gate = await startGate(parts.mock.url);
    parts.stack = await startDistributedStack({
      ...svc, workers: ['w1', 'w2'],
      env: { WORKER_CONCURRENCY: '3', WEFT_QUEUE_LOCK_MS: '2000', WEFT_QUEUE_STALLED_INTERVAL_MS: '1000' },
    });
    parts.redis = new Redis(svc.redisUrl);
  }, STACK_START_MS);

  afterAll(async () => {
    await parts.redis?.quit();
    await parts.stack?.stop();
    await parts.gate?.close();
    await parts.mock?.close();
    await parts.svc?.cleanup();
    parts = {};
  });

  return () => {
    const { svc, stack, mock, gate, redis } = parts;
    if (!svc || !stack || !mock || !gate || !redis) throw new Error('the gated stack is not running');
    return { svc, stack, mock, gate, redis };
  };
}
