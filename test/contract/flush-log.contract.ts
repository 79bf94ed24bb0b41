/**
 * The FlushLog conformance suite: every adapter runs it (flush-log.test.ts). One consumer group:
 * each entry is delivered once, stays pending until acknowledged, and is claimed by another
 * consumer once its own has been silent for the claim idle time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeResult } from '../../shared/src/model/index.js';
import type { FlushEntry, FlushLog } from '../../shared/src/ports/flush-log.js';
import { waitFor } from '../helpers/wait-for.js';

export interface FlushLogFixture {
  log: FlushLog;
  /** Resolves once a read of this log is waiting for entries (blocked). */
  untilReadBlocks(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Claim idle time the fixtures must configure (`claimIdleMs`) for the re-delivery test. */
export const CONTRACT_FLUSH_CLAIM_IDLE_MS = 300;

function completed(output: unknown): NodeResult {
  return {
    status: 'completed', output, error: null, usage: null, cost: null, attempts: 1, input: { prompt: 'p' },
    provider: 'openai', model: 'gpt-4o', workerId: 'w1', startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.000Z', runtimeMs: 7,
  };
}

const entry = (n: number): FlushEntry => ({ kind: 'node', executionId: `ex${n}`, nodeId: 'a', result: completed(n) });

export function flushLogContract(name: string, makeLog: () => Promise<FlushLogFixture>): void {
  describe(`FlushLog contract: ${name}`, () => {
    let fx: FlushLogFixture;
    let log: FlushLog;
    beforeEach(async () => {
      fx = await makeLog();
      log = fx.log;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('reads appended entries once per group, in order, and forgets acknowledged ones', async () => {
      await log.append([entry(1), entry(2), entry(3)]);
      await log.append([{ kind: 'execution', executionId: 'ex9' }, { kind: 'status', executionId: 'ex8' }]);
      const first = await log.read('c1', 3, 0);
      expect(first.map((r) => r.entry)).toEqual([entry(1), entry(2), entry(3)]);
      const second = await log.read('c2', 10, 0);
      expect(second.map((r) => r.entry)).toEqual([{ kind: 'execution', executionId: 'ex9' }, { kind: 'status', executionId: 'ex8' }]);
      expect(await log.read('c3', 10, 0)).toEqual([]);
      await log.ack([...first, ...second].map((r) => r.id));
      expect(await log.read('c3', 10, 0)).toEqual([]);
    });

    it('ackAndRead acknowledges a batch and reads the next, waiting for it when none is there yet', async () => {
      await log.append([entry(1), entry(2)]);
      const first = await log.read('c1', 1, 0);
      expect(first.map((r) => r.entry)).toEqual([entry(1)]);
      // Entries waiting: acknowledged and read in one step, repeatedly.
      const second = await log.ackAndRead(first.map((r) => r.id), 'c1', 10, 0);
      expect(second.map((r) => r.entry)).toEqual([entry(2)]);
      const reading = log.ackAndRead(second.map((r) => r.id), 'c1', 10, 10_000);
      await fx.untilReadBlocks();
      await log.append([entry(3)]);
      const third = await reading;
      expect(third.map((r) => r.entry)).toEqual([entry(3)]);
      await log.ackAndRead(third.map((r) => r.id), 'c1', 10, 0);
      // Nothing is left: neither delivered again nor claimable.
      expect(await log.read('c2', 10, 0)).toEqual([]);
    });

    it('a blocked read gets an entry appended meanwhile; a read that finds nothing answers none', async () => {
      const reading = log.read('c1', 10, 10_000);
      await fx.untilReadBlocks();
      await log.append([entry(1)]);
      expect((await reading).map((r) => r.entry)).toEqual([entry(1)]);
      expect(await log.read('c1', 10, 100)).toEqual([]);
      expect(await log.read('c1', 0, 100)).toEqual([]);
    });

    it('re-delivers unacknowledged entries to another consumer after the idle time, acknowledged ones never', async () => {
      await log.append([entry(1), entry(2)]);
      const taken = await log.read('dead', 10, 0);
      expect(taken).toHaveLength(2);
      await log.ack([taken[0]!.id]);
      const claimed = await waitFor(async () => {
        const got = await log.read('alive', 10, 0);
        return got.length > 0 ? got : null;
      }, { timeoutMs: CONTRACT_FLUSH_CLAIM_IDLE_MS * 10 });
      expect(claimed).toEqual([taken[1]]);
      await log.ack([taken[1]!.id]);
      // A later entry left pending is claimed in turn; the acknowledged ones, idle longer, are not.
      await log.append([entry(3)]);
      const later = await log.read('dead-too', 10, 0);
      expect(later.map((r) => r.entry)).toEqual([entry(3)]);
      const reclaimed = await waitFor(async () => {
        const got = await log.read('alive', 10, 0);
        return got.length > 0 ? got : null;
      }, { timeoutMs: CONTRACT_FLUSH_CLAIM_IDLE_MS * 10 });
      expect(reclaimed).toEqual(later);
    });
  });
}
