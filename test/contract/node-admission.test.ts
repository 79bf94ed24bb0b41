/**
 * NodeAdmission, both adapters: a workspace's node slots are leases on job ids, a job over the
 * cap is parked in line (priority rank, then first deferral), a release answers the jobs first in
 * line, and a crashed holder's lease (or a vanished job's parked entry) lapses. A settable clock
 * stands in for time: nothing here waits.
 */
import { describe, expect, it } from 'vitest';
import { MemoryNodeAdmission } from '../../shared/src/adapters/memory/memory-node-admission.js';
import { RedisNodeAdmission } from '../../shared/src/adapters/redis/redis-node-admission.js';
import type { NodeAdmission } from '../../shared/src/ports/index.js';
import { redisForSuite, uniqueId } from '../helpers/services.js';

const LEASE = 10_000;
const PARK = 30_000;

function nodeAdmissionContract(name: string, make: (now: () => number) => NodeAdmission): void {
  describe(`NodeAdmission: ${name}`, () => {
    function fixture(): { admission: NodeAdmission; ws: string; clock: { t: number }; take: (holder: string, rank?: number) => Promise<boolean> } {
      const clock = { t: 1_000_000 };
      const admission = make(() => clock.t);
      const ws = `ws-${uniqueId()}`;
      const take = async (holder: string, rank = 2e13 + clock.t): Promise<boolean> =>
        (await admission.acquire({ workspaceId: ws, holder, max: 2, rank, leaseMs: LEASE, parkTtlMs: PARK })).admitted;
      return { admission, ws, clock, take };
    }

    it('admits up to the cap, keeps a holder its slot, and parks the rest in line by rank', async () => {
      const { admission, ws, take } = fixture();
      expect(await take('a')).toBe(true);
      expect(await take('a')).toBe(true);
      expect(await take('b')).toBe(true);
      expect(await admission.acquire({ workspaceId: ws, holder: 'c', max: 2, rank: 3e13, leaseMs: LEASE, parkTtlMs: PARK })).toEqual({ admitted: false, active: 2, position: 0 });
      expect(await take('d', 3e13 + 1)).toBe(false);
      // A higher priority (lower rank) goes ahead of both.
      expect(await admission.acquire({ workspaceId: ws, holder: 'h', max: 2, rank: 1e13, leaseMs: LEASE, parkTtlMs: PARK })).toEqual({ admitted: false, active: 2, position: 0 });
      expect(await admission.active(ws)).toBe(2);
      // Another workspace has its own slots.
      expect(await admission.acquire({ workspaceId: `${ws}-b`, holder: 'x', max: 2, rank: 0, leaseMs: LEASE, parkTtlMs: PARK })).toMatchObject({ admitted: true });

      expect(await admission.release({ workspaceId: ws, holder: 'a', max: 2 })).toEqual(['h']);
      // A newcomer does not jump the line while parked jobs wait for the free slot.
      expect(await take('late', 4e13)).toBe(false);
      // Parked but not first: still waits; the first in line takes the slot.
      expect(await take('c')).toBe(false);
      expect(await take('h')).toBe(true);
      expect(await admission.release({ workspaceId: ws, holder: 'b', max: 2 })).toEqual(['c']);
      expect(await admission.release({ workspaceId: ws, holder: 'h', max: 2 })).toEqual(['c', 'd']);
      // 'late' parked with a lower priority: behind c and d.
      expect(await take('d')).toBe(true);
      expect(await take('c')).toBe(true);
      expect(await admission.active(ws)).toBe(2);
    });

    it("lets a crashed holder's slot lapse unless renewed, and a vanished job leave the line", async () => {
      const { admission, ws, clock, take } = fixture();
      expect(await take('a')).toBe(true);
      expect(await take('b')).toBe(true);
      expect(await take('gone')).toBe(false);
      clock.t += LEASE / 2;
      await admission.renew([{ workspaceId: ws, holder: 'a' }], LEASE);
      clock.t += LEASE / 2 + 1;
      // b's lease lapsed (its worker died); a was renewed.
      expect(await admission.active(ws)).toBe(1);
      expect(await take('b2')).toBe(false);
      // Parked 'gone' is first in line: only it may take the free slot, until its entry lapses.
      clock.t += PARK;
      await admission.renew([{ workspaceId: ws, holder: 'a' }], LEASE);
      expect(await take('b2')).toBe(true);
      // A renewal never brings back a released slot.
      await admission.release({ workspaceId: ws, holder: 'b2', max: 2 });
      await admission.renew([{ workspaceId: ws, holder: 'b2' }], LEASE);
      expect(await admission.active(ws)).toBe(1);
    });
  });
}

nodeAdmissionContract('memory', (now) => new MemoryNodeAdmission(now));

describe('redis', () => {
  const suite = redisForSuite();
  nodeAdmissionContract('redis', (now) => new RedisNodeAdmission({ redis: suite.redis, prefix: suite.svc.prefix, now }));
});
