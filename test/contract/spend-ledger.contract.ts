/** The SpendLedger conformance suite: every adapter runs it (spend-ledger.test.ts). */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SpendLedger } from '../../shared/src/ports/spend-ledger.js';

export function spendLedgerContract(name: string, makeLedger: () => SpendLedger): void {
  describe(`SpendLedger contract: ${name}`, () => {
    it('accumulates per node without drift, keeps unpriced usage, and is empty for an unknown execution', async () => {
      const ledger = makeLedger();
      const executionId = randomUUID();
      const usage = { promptTokens: 42, completionTokens: 357, reasoningTokens: 0, cachedTokens: 0, totalTokens: 399 };
      const cost = { inputCost: 0.000105, outputCost: 0.001785, reasoningCost: 0, totalCost: 0.00189 };
      for (let i = 0; i < 100; i++) await ledger.record({ executionId, nodeId: 'a', spend: { usage, cost } });
      await ledger.record({ executionId, nodeId: 'b', spend: { usage, cost: null } });
      const spend = await ledger.get(executionId);
      expect(spend.a?.usage.totalTokens).toBe(39_900);
      expect(spend.a?.cost).toEqual({ inputCost: 0.0105, outputCost: 0.1785, reasoningCost: 0, totalCost: 0.189 });
      expect(spend.b).toEqual({ usage, cost: null });
      expect(await ledger.get(randomUUID())).toEqual({});
    });

    it('keeps node ids with the separator apart', async () => {
      const ledger = makeLedger();
      const executionId = randomUUID();
      const usage = { promptTokens: 1, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, totalTokens: 3 };
      await ledger.record({ executionId, nodeId: 'm[0].a|b', spend: { usage, cost: null } });
      expect(Object.keys(await ledger.get(executionId))).toEqual(['m[0].a|b']);
    });
  });
}
