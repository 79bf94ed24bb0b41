/**
 * External tasks and worker tokens (PgTasksRepo, PgWorkerTokensRepo) on both backends: the
 * claim's workspace and handler scope, the lease fence, a lapsed lease listed for the sweep and
 * put back with its checkpoint, releases, retries, settling, the depth gauge's counts and the
 * secret-delivery audit.
 */
import { describe, expect, it } from 'vitest';
import { newId } from '@weft/shared/ids';
import type { NewTask } from '@weft/shared/ports';
import { waitFor } from '../helpers/wait-for.js';
import type { DbReposSuite } from './db-repos.fixture.js';

export function tasksContract(s: DbReposSuite): void {
  describe('external tasks', () => {
    const task = (ids: { ws: string; flowId: string; executionId: string }, over: Partial<NewTask> = {}): NewTask => ({
      id: newId(), workspaceId: ids.ws, executionId: ids.executionId, flowId: ids.flowId, flowVersion: 1, nodeId: 't', handler: 'image.resize',
      queue: null, input: { w: 1 }, secretNames: [], maxAttempts: 3, backoff: null, heartbeatTimeoutMs: 60_000, nodeStartedAt: new Date().toISOString(), ...over,
    });

    it('worker tokens: created once, listed without the secret, authenticated, revoked', async () => {
      const ws = await s.newWorkspace();
      const created = await s.repos.workerTokens.create({ workspaceId: ws.id, name: 'gpu', handlers: ['a.b'], maxTokens: 1 });
      if (!created) throw new Error('no token');
      expect(created.secret).toMatch(/^wt_/);
      await expect(s.repos.workerTokens.create({ workspaceId: ws.id, name: 'more', handlers: ['a.b'], maxTokens: 1 })).rejects.toMatchObject({ code: 'WORKER_TOKEN_LIMIT_REACHED' });
      expect((await s.repos.workerTokens.authenticate(created.secret))?.id).toBe(created.token.id);
      expect(await s.repos.workerTokens.authenticate(`${created.secret}x`)).toBeNull();
      expect(await s.repos.workerTokens.list(ws.id)).toEqual([expect.objectContaining({ id: created.token.id, handlers: ['a.b'] })]);
      const other = await s.newWorkspace();
      expect(await s.repos.workerTokens.revoke({ workspaceId: other.id, tokenId: created.token.id })).toBe(false);
      expect(await s.repos.workerTokens.revoke({ workspaceId: ws.id, tokenId: created.token.id })).toBe(true);
      expect(await s.repos.workerTokens.authenticate(created.secret)).toBeNull();
    });

    it('claims within the workspace and handlers, fences by lease, and hands a lapsed task to the next attempt with its checkpoint', async () => {
      const a = await s.newExecution();
      const b = await s.newExecution();
      await s.repos.tasks.enqueue(task(a, { heartbeatTimeoutMs: 1, secretNames: ['KEY'] }));
      const token = newId();
      expect(await s.repos.tasks.claim({ workspaceId: b.ws, handlers: ['image.resize'], workerTokenId: token, leaseId: newId() })).toBeNull();
      expect(await s.repos.tasks.claim({ workspaceId: a.ws, handlers: ['other'], workerTokenId: token, leaseId: newId() })).toBeNull();
      const first = newId();
      const claimed = await s.repos.tasks.claim({ workspaceId: a.ws, handlers: ['image.resize'], workerTokenId: token, leaseId: first });
      expect(claimed).toMatchObject({ attempt: 1, status: 'claimed', leaseId: first, input: { w: 1 }, checkpoint: null });
      const lease = { workspaceId: a.ws, taskId: claimed?.id ?? '', leaseId: first };
      expect(await s.repos.tasks.checkpoint({ ...lease, checkpoint: { done: 3 } })).toMatchObject({ checkpoint: { done: 3 } });
      expect(await s.repos.tasks.heartbeat({ ...lease, leaseId: newId() })).toBeNull();
      // A 1 ms lease lapses at once, but a claim does not take it: the lease sweep lists it and
      // puts it back (fenced on the lapsed lease), and the next claim is the second attempt, with the checkpoint.
      expect(await s.repos.tasks.claim({ workspaceId: a.ws, handlers: ['image.resize'], workerTokenId: token, leaseId: newId() })).toBeNull();
      const lapsed = await waitFor(async () => (await s.repos.tasks.lapsed({ limit: 1000 })).find((t) => t.id === claimed?.id), { timeoutMs: 5000 });
      expect(lapsed).toMatchObject({ status: 'claimed', attempt: 1, leaseId: first, workerTokenId: token });
      expect(await s.repos.tasks.requeue({ ...lease, leaseId: newId(), delayMs: 0, lapsed: true })).toBeNull();
      expect(await s.repos.tasks.requeue({ ...lease, delayMs: 0, lapsed: true })).toMatchObject({ status: 'queued', leaseId: null, checkpoint: { done: 3 } });
      expect(await s.repos.tasks.requeue({ ...lease, delayMs: 0, lapsed: true })).toBeNull();
      const second = newId();
      const again = await s.repos.tasks.claim({ workspaceId: a.ws, handlers: ['image.resize'], workerTokenId: token, leaseId: second });
      expect(again).toMatchObject({ id: claimed?.id, attempt: 2, leaseId: second, checkpoint: { done: 3 } });
      expect(await s.repos.tasks.finish({ ...lease, status: 'completed' })).toBeNull();
      expect(await s.repos.tasks.finish({ ...lease, leaseId: second, status: 'completed' })).toMatchObject({ status: 'completed' });
      const audit = await s.repos.tasks.listDeliveries({ workspaceId: a.ws, taskId: claimed?.id, limit: 10 });
      expect(audit.map((d) => [d.attempt, d.secretNames])).toEqual([[2, ['KEY']], [1, ['KEY']]]);
      expect(await s.repos.tasks.listDeliveries({ workspaceId: b.ws, taskId: claimed?.id, limit: 10 })).toEqual([]);
    });

    it('a lapsed write loses to a lease still in time; a release puts the task back at once', async () => {
      const a = await s.newExecution();
      await s.repos.tasks.enqueue(task(a));
      const leaseId = newId();
      const claimed = await s.repos.tasks.claim({ workspaceId: a.ws, handlers: ['image.resize'], workerTokenId: newId(), leaseId });
      const lease = { workspaceId: a.ws, taskId: claimed?.id ?? '', leaseId };
      expect((await s.repos.tasks.lapsed({ limit: 1000 })).map((t) => t.id)).not.toContain(claimed?.id);
      expect(await s.repos.tasks.finish({ ...lease, status: 'failed', lapsed: true })).toBeNull();
      expect(await s.repos.tasks.requeue({ ...lease, delayMs: 0, lapsed: true })).toBeNull();
      expect(await s.repos.tasks.heartbeat({ ...lease, release: true })).toMatchObject({ status: 'queued', leaseId: null, attempt: 1 });
      expect(await s.repos.tasks.claim({ workspaceId: a.ws, handlers: ['image.resize'], workerTokenId: newId(), leaseId: newId() })).toMatchObject({ attempt: 2 });
    });

    it('requeues a retried task after its delay, settles live tasks of an execution, and counts the live ones', async () => {
      const a = await s.newExecution();
      await s.repos.tasks.enqueue(task(a));
      const leaseId = newId();
      const claimed = await s.repos.tasks.claim({ workspaceId: a.ws, handlers: ['image.resize'], workerTokenId: newId(), leaseId });
      const before = await s.repos.tasks.depth();
      expect(before.claimed).toBeGreaterThanOrEqual(1);
      expect(await s.repos.tasks.requeue({ workspaceId: a.ws, taskId: claimed?.id ?? '', leaseId, delayMs: 3_600_000 })).toMatchObject({ status: 'queued', leaseId: null });
      expect(await s.repos.tasks.claim({ workspaceId: a.ws, handlers: ['image.resize'], workerTokenId: newId(), leaseId: newId() })).toBeNull();
      await s.repos.tasks.settle({ executionId: a.executionId, status: 'cancelled' });
      expect(await s.repos.tasks.get({ workspaceId: a.ws, taskId: claimed?.id ?? '' })).toMatchObject({ status: 'cancelled' });
      // A retry of the node runs its task afresh.
      await s.repos.tasks.enqueue(task(a, { input: { w: 2 } }));
      expect(await s.repos.tasks.listByExecution({ workspaceId: a.ws, executionId: a.executionId })).toEqual([expect.objectContaining({ status: 'queued', attempt: 0, input: { w: 2 } })]);
    });
  });
}
