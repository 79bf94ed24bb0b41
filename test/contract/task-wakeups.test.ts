/**
 * Both TaskWakeups adapters wake exactly the listeners of the notified (workspace, handler), from
 * the moment `listen` resolves, and stop at unsubscribe; a workspace whose last listener left and
 * came back is heard again (Redis: UNSUBSCRIBE then SUBSCRIBE on one connection).
 */
import { describe, expect, it } from 'vitest';
import { MemoryTaskWakeups } from '../../shared/src/adapters/memory/memory-task-wakeups.js';
import { RedisTaskWakeups } from '../../shared/src/adapters/redis/redis-task-wakeups.js';
import type { TaskWakeups } from '../../shared/src/ports/task-wakeups.js';
import { redisForSuite } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

async function expectWakeups(wakeups: TaskWakeups, other: TaskWakeups): Promise<void> {
  const woken: string[] = [];
  const stopA = await wakeups.listen({ workspaceId: 'w1', handlers: ['image.resize', 'video.encode'] }, () => woken.push('a'));
  const stopB = await wakeups.listen({ workspaceId: 'w1', handlers: ['text.shout'] }, () => woken.push('b'));
  const stopC = await wakeups.listen({ workspaceId: 'w2', handlers: ['image.resize'] }, () => woken.push('c'));
  // Published by another process's adapter: what a worker that queued the task does.
  await other.notify({ workspaceId: 'w1', handler: 'video.encode' });
  await other.notify({ workspaceId: 'w2', handler: 'image.resize' });
  await other.notify({ workspaceId: 'w3', handler: 'image.resize' });
  await other.notify({ workspaceId: 'w1', handler: 'text.shout' });
  await waitFor(() => woken.length >= 3, { timeoutMs: 3000, message: 'wake-ups delivered' });
  expect(woken.sort()).toEqual(['a', 'b', 'c']);

  // The workspace's last listener leaves, and a new one comes: it is heard, the old ones are not.
  await stopA();
  await stopB();
  const again: string[] = [];
  const stopD = await wakeups.listen({ workspaceId: 'w1', handlers: ['image.resize'] }, () => again.push('d'));
  await other.notify({ workspaceId: 'w1', handler: 'image.resize' });
  await other.notify({ workspaceId: 'w2', handler: 'image.resize' });
  await waitFor(() => again.length >= 1 && woken.length >= 4, { timeoutMs: 3000, message: 'wake-ups after resubscribing' });
  expect(again).toEqual(['d']);
  expect(woken.sort()).toEqual(['a', 'b', 'c', 'c']);
  await stopC();
  await stopD();
}

describe('TaskWakeups', () => {
  it('memory: wakes the listeners of the notified workspace and handler only', async () => {
    const wakeups = new MemoryTaskWakeups();
    await expectWakeups(wakeups, wakeups);
    await wakeups.close();
  });

  describe('redis', () => {
    const suite = redisForSuite();

    it('wakes the listeners of the notified workspace and handler only, across adapters (processes)', async () => {
      const wakeups = new RedisTaskWakeups({ redis: suite.redis, prefix: suite.svc.prefix });
      const other = new RedisTaskWakeups({ redis: suite.redis, prefix: suite.svc.prefix });
      await expectWakeups(wakeups, other);
      await wakeups.close();
      await other.close();
    });
  });
});
