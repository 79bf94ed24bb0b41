/**
 * ExecutionAdmission, both adapters: the in-flight cap is a set of ids, so admitting or
 * releasing the same execution twice counts once (redelivery, a flush written twice, recovery).
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../shared/src/adapters/memory/memory-event-bus.js';
import { MemoryExecutionAdmission } from '../../shared/src/adapters/memory/memory-execution-admission.js';
import { RedisEventBus } from '../../shared/src/adapters/redis/redis-event-bus.js';
import { RedisExecutionAdmission } from '../../shared/src/adapters/redis/redis-execution-admission.js';
import type { EventBus, ExecutionAdmission } from '../../shared/src/ports/index.js';
import { redisForSuite, uniqueId } from '../helpers/services.js';

function admissionContract(name: string, make: () => { admission: ExecutionAdmission; events: EventBus }): void {
  describe(`ExecutionAdmission: ${name}`, () => {
    const draft = (workspaceId: string, executionId: string) => ({
      type: 'execution.queued' as const, executionId, flowId: 'f', workspaceId, at: '2026-01-01T00:00:00.000Z', data: { flowVersion: 1 },
    });

    it('admits up to the cap, counts an id once, and frees a slot on release', async () => {
      const { admission } = make();
      const ws = `ws-${uniqueId()}`;
      expect(await admission.admit({ workspaceId: ws, executionId: 'e1', max: 2, event: null })).toEqual({ admitted: true });
      // Admitted again (a replay): still one.
      expect(await admission.admit({ workspaceId: ws, executionId: 'e1', max: 2, event: null })).toEqual({ admitted: true });
      expect(await admission.inFlight(ws)).toBe(1);
      expect(await admission.admit({ workspaceId: ws, executionId: 'e2', max: 2, event: null })).toEqual({ admitted: true });
      expect(await admission.admit({ workspaceId: ws, executionId: 'e3', max: 2, event: null })).toEqual({ admitted: false, inFlight: 2 });
      // A member is admitted at the cap: it already counts.
      expect(await admission.admit({ workspaceId: ws, executionId: 'e2', max: 2, event: null })).toEqual({ admitted: true });
      // Another workspace has its own count; 0 means no cap.
      expect(await admission.admit({ workspaceId: `${ws}-b`, executionId: 'e3', max: 2, event: null })).toEqual({ admitted: true });
      expect(await admission.admit({ workspaceId: ws, executionId: 'e4', max: 0, event: null })).toEqual({ admitted: true });
      await admission.release({ workspaceId: ws, executionId: 'e4' });
      // Released twice: one slot, not two.
      await admission.release({ workspaceId: ws, executionId: 'e1' });
      await admission.release({ workspaceId: ws, executionId: 'e1' });
      expect(await admission.inFlight(ws)).toBe(1);
      expect(await admission.admit({ workspaceId: ws, executionId: 'e3', max: 2, event: null })).toEqual({ admitted: true });
      expect(await admission.admit({ workspaceId: ws, executionId: 'e5', max: 2, event: null })).toEqual({ admitted: false, inFlight: 2 });
      // A re-opened execution counts again without a check.
      await admission.readmit({ workspaceId: ws, executionId: 'e1' });
      await admission.readmit({ workspaceId: ws, executionId: 'e1' });
      expect(await admission.inFlight(ws)).toBe(3);
      const listed = (await admission.listInFlight()).filter((e) => e.workspaceId.startsWith(ws));
      expect(listed.map((e) => [e.workspaceId, [...e.executionIds].sort()]).sort()).toEqual([[ws, ['e1', 'e2', 'e3']], [`${ws}-b`, ['e3']]]);
    });

    it('publishes the event only when it admits', async () => {
      const { admission, events } = make();
      const ws = `ws-${uniqueId()}`;
      const seen: string[] = [];
      const off = await events.subscribe((e) => { if (e.workspaceId === ws) seen.push(e.executionId); });
      await admission.admit({ workspaceId: ws, executionId: 'p1', max: 1, event: draft(ws, 'p1') });
      await admission.admit({ workspaceId: ws, executionId: 'p2', max: 1, event: draft(ws, 'p2') });
      expect((await events.replay('p1')).map((e) => e.type)).toEqual(['execution.queued']);
      expect(await events.replay('p2')).toEqual([]);
      await expect.poll(() => seen).toEqual(['p1']);
      // A start refused after its admission takes it back: no slot, no event kept.
      await admission.withdraw({ workspaceId: ws, executionId: 'p1' });
      expect(await admission.inFlight(ws)).toBe(0);
      if (name === 'redis') expect(await events.replay('p1')).toEqual([]);
      await off();
      await events.close();
    });
  });
}

admissionContract('memory', () => {
  const events = new MemoryEventBus();
  return { admission: new MemoryExecutionAdmission({ events }), events };
});

describe('redis', () => {
  const suite = redisForSuite();
  admissionContract('redis', () => {
    const events = new RedisEventBus({ redis: suite.redis, prefix: suite.svc.prefix });
    return { admission: new RedisExecutionAdmission({ redis: suite.redis, prefix: suite.svc.prefix }), events };
  });
});
