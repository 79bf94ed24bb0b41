import { describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../shared/src/adapters/memory/memory-event-bus.js';
import { MemorySpendLedger } from '../../shared/src/adapters/memory/memory-spend-ledger.js';
import { MemoryStateStore } from '../../shared/src/adapters/memory/memory-state-store.js';
import { RedisSpendLedger } from '../../shared/src/adapters/redis/redis-spend-ledger.js';
import { redisForSuite } from '../helpers/services.js';
import { graph } from './state-store.contract.js';
import { spendLedgerContract } from './spend-ledger.contract.js';

const usage = { promptTokens: 1, completionTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: 2 };

spendLedgerContract('memory', () => new MemorySpendLedger());

describe('MemorySpendLedger specifics', () => {
  it('forgets an execution\'s spend when the store it was given expires the execution', async () => {
    const events = new MemoryEventBus();
    const spend = new MemorySpendLedger();
    const store = new MemoryStateStore({ events, spendLedger: spend });
    const at = '2025-01-01T00:00:00.000Z';
    await store.initExecution({ executionId: 'e', workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: null, nodes: graph(['a'], []), at });
    await spend.record({ executionId: 'e', nodeId: 'a', spend: { usage, cost: null } });
    await store.cancelExecution({ executionId: 'e', at });
    expect(await spend.get('e')).not.toEqual({});
    expect(await store.expireExecution('e', 0)).toBe(true);
    expect(await spend.get('e')).toEqual({});
    await store.close();
    await events.close();
  });
});

describe('redis', () => {
  const suite = redisForSuite();
  spendLedgerContract('redis', () => new RedisSpendLedger({ redis: suite.redis, prefix: suite.svc.prefix }));
});
