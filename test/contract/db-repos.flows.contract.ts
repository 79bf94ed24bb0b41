/**
 * Database contract, flows and executions: immutable versions, soft delete, workspace scoping,
 * keyset pages, idempotency keys and the execution life cycle the worker and recovery use.
 */
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '@weft/db/repos';
import type { NodeResult } from '@weft/shared/model';
import { newId } from '@weft/shared/ids';
import { flowDef, type DbReposSuite } from './db-repos.fixture.js';

export function flowsContract(s: DbReposSuite): void {
  describe('flows', () => {
    it('creates version 1, updates to new immutable versions, reads any version', async () => {
      const ws = await s.newWorkspace();
      const repo = s.repos.flows;
      const v1 = await repo.create({ workspaceId: ws.id, flow: flowDef('first') });
      expect(v1).toMatchObject({ workspaceId: ws.id, version: 1, name: 'first', edges: [{ from: 'a', to: 'b' }] });
      expect(v1.nodes).toHaveLength(2);
      expect(await repo.get({ workspaceId: ws.id, flowId: v1.id })).toEqual(v1);

      const v2 = await repo.update({ workspaceId: ws.id, flowId: v1.id, flow: flowDef('second', 'Bye') });
      expect(v2).toMatchObject({ id: v1.id, version: 2, name: 'second', createdAt: v1.createdAt });
      expect(await repo.get({ workspaceId: ws.id, flowId: v1.id })).toEqual(v2);
      expect(await repo.get({ workspaceId: ws.id, flowId: v1.id, version: 1 })).toEqual(v1);
      expect(await repo.get({ workspaceId: ws.id, flowId: v1.id, version: 3 })).toBeNull();
      expect(await repo.getVersion(v1.id, 1)).toEqual(v1);
      expect(await repo.getVersion(v1.id, 2)).toEqual(v2);
      expect(await repo.getVersion(v1.id, 3)).toBeNull();
      const rows = await s.fx.query<{ name: string; latest_version: number }>('select name, latest_version from flows where id = $1', [v1.id]);
      expect(rows[0]).toEqual({ name: 'second', latest_version: 2 });
    });

    it('gives concurrent updates distinct versions', async () => {
      const ws = await s.newWorkspace();
      const f = await s.repos.flows.create({ workspaceId: ws.id, flow: flowDef('c') });
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => s.repos.flows.update({ workspaceId: ws.id, flowId: f.id, flow: flowDef(`c${i}`) })));
      expect(results.map((r) => r?.version).sort()).toEqual([2, 3, 4, 5, 6]);
      // Each version holds the definition its update wrote.
      for (const r of results) expect((await s.repos.flows.getVersion(f.id, r!.version))?.name).toBe(r!.name);
    });

    it('soft-deletes: hidden from get, list and update; pinned versions stay readable', async () => {
      const ws = await s.newWorkspace();
      const repo = s.repos.flows;
      const f = await repo.create({ workspaceId: ws.id, flow: flowDef('doomed') });
      expect(await repo.delete({ workspaceId: ws.id, flowId: f.id })).toBe(true);
      expect(await repo.delete({ workspaceId: ws.id, flowId: f.id })).toBe(false);
      expect(await repo.get({ workspaceId: ws.id, flowId: f.id })).toBeNull();
      expect(await repo.get({ workspaceId: ws.id, flowId: f.id, version: 1 })).toBeNull();
      expect(await repo.update({ workspaceId: ws.id, flowId: f.id, flow: flowDef('again') })).toBeNull();
      expect((await repo.list({ workspaceId: ws.id, limit: 10 })).items).toEqual([]);
      expect(await repo.getVersion(f.id, 1)).toEqual(f);
    });

    it('is invisible to other workspaces', async () => {
      const a = await s.newWorkspace('a');
      const b = await s.newWorkspace('b');
      const repo = s.repos.flows;
      const f = await repo.create({ workspaceId: a.id, flow: flowDef('private') });
      expect(await repo.get({ workspaceId: b.id, flowId: f.id })).toBeNull();
      expect(await repo.update({ workspaceId: b.id, flowId: f.id, flow: flowDef('hijack') })).toBeNull();
      expect(await repo.delete({ workspaceId: b.id, flowId: f.id })).toBe(false);
      expect((await repo.list({ workspaceId: b.id, limit: 10 })).items).toEqual([]);
      expect((await repo.get({ workspaceId: a.id, flowId: f.id }))?.name).toBe('private');
    });

    it('returns null for malformed ids and versions', async () => {
      const ws = await s.newWorkspace();
      expect(await s.repos.flows.get({ workspaceId: ws.id, flowId: 'nope' })).toBeNull();
      expect(await s.repos.flows.get({ workspaceId: ws.id, flowId: newId(), version: 1.5 })).toBeNull();
      expect(await s.repos.flows.getVersion('nope', 1)).toBeNull();
      expect(await s.repos.flows.getVersion(newId(), Number.NaN)).toBeNull();
      expect(await s.repos.flows.update({ workspaceId: ws.id, flowId: 'nope', flow: flowDef('x') })).toBeNull();
      expect(await s.repos.flows.delete({ workspaceId: ws.id, flowId: 'nope' })).toBe(false);
    });

    it('lists newest first across pages with an opaque cursor', async () => {
      const ws = await s.newWorkspace();
      const created: FlowRecord[] = [];
      for (let i = 0; i < 5; i++) created.push(await s.repos.flows.create({ workspaceId: ws.id, flow: flowDef(`f${i}`) }));
      await s.repos.flows.update({ workspaceId: ws.id, flowId: created[0]!.id, flow: flowDef('f0-v2') });
      const seen: FlowRecord[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.repos.flows.list({ workspaceId: ws.id, limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items);
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      // Newest first by (created_at, id): flows made in the same millisecond tie on created_at and
      // are ordered by id, which is random within a millisecond.
      const expected = [...created].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
      expect(seen.map((f) => f.id)).toEqual(expected.map((f) => f.id));
      expect(seen.find((f) => f.id === created[0]!.id)).toMatchObject({ name: 'f0-v2', version: 2 });
      await expect(s.repos.flows.list({ workspaceId: ws.id, limit: 2, cursor: 'garbage' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    });
  });

  async function setup(): Promise<{ ws: string; flowId: string }> {
    const ws = await s.newWorkspace();
    const f = await s.repos.flows.create({ workspaceId: ws.id, flow: flowDef('x') });
    return { ws: ws.id, flowId: f.id };
  }

  describe('executions', () => {
    it('creates queued executions with input and a numeric cost cap', async () => {
      const { ws, flowId } = await setup();
      const { execution, created } = await s.repos.executions.create({
        workspaceId: ws, flowId, flowVersion: 1, input: { topic: 'ducks', n: [1, 2] }, maxCostUsd: 0.25,
      });
      expect(created).toBe(true);
      expect(execution).toMatchObject({
        workspaceId: ws, flowId, flowVersion: 1, status: 'queued', input: { topic: 'ducks', n: [1, 2] },
        output: null, error: null, usage: null, cost: null, idempotencyKey: null, maxCostUsd: 0.25, startedAt: null, finishedAt: null,
        singleNodeId: null, presetResults: null,
      });
      expect(await s.repos.executions.get({ workspaceId: ws, executionId: execution.id })).toEqual(execution);
      expect(await s.repos.executions.getById(execution.id)).toEqual(execution);
      const other = await s.newWorkspace();
      expect(await s.repos.executions.get({ workspaceId: other.id, executionId: execution.id })).toBeNull();
      expect(await s.repos.executions.get({ workspaceId: ws, executionId: 'junk' })).toBeNull();
      expect(await s.repos.executions.getById(newId())).toBeNull();
      expect(await s.repos.executions.getById('junk')).toBeNull();
    });

    it('stores a single-node run with its preset upstream results', async () => {
      const { ws, flowId } = await setup();
      const preset: Record<string, NodeResult> = {
        a: {
          status: 'completed', output: { text: 'upstream ✓' }, error: null, attempts: 1, input: null, provider: 'openai', model: 'gpt-4o', workerId: 'w',
          usage: { promptTokens: 1, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, totalTokens: 3 },
          cost: { inputCost: 0.000001, outputCost: 0.000002, reasoningCost: 0, totalCost: 0.000003 },
          startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', runtimeMs: 1000,
        },
      };
      const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { x: 1 }, singleNodeId: 'b', presetResults: preset });
      expect(execution).toMatchObject({ singleNodeId: 'b', presetResults: preset });
      expect(await s.repos.executions.getById(execution.id)).toEqual(execution);
    });

    it('returns the existing execution for a reused idempotency key, per workspace', async () => {
      const { ws, flowId } = await setup();
      const first = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { a: 1 }, idempotencyKey: 'key-1' });
      const again = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { a: 2 }, idempotencyKey: 'key-1' });
      expect(first.created).toBe(true);
      expect(again.created).toBe(false);
      expect(again.execution.id).toBe(first.execution.id);
      expect(again.execution.input).toEqual({ a: 1 });
      expect(again.execution).toEqual(first.execution);

      const other = await setup();
      const elsewhere = await s.repos.executions.create({ workspaceId: other.ws, flowId: other.flowId, flowVersion: 1, input: null, idempotencyKey: 'key-1' });
      expect(elsewhere.created).toBe(true);
      expect(elsewhere.execution.id).not.toBe(first.execution.id);
    });

    it('creates one execution for concurrent requests with the same key', async () => {
      const { ws, flowId } = await setup();
      const results = await Promise.all(Array.from({ length: 6 }, () =>
        s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'race' })));
      expect(new Set(results.map((r) => r.execution.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const rows = await s.fx.query<{ n: string }>(`select count(*)::text as n from executions where workspace_id = $1`, [ws]);
      expect(rows[0]?.n).toBe('1');
    });

    it('reuses a key older than 24 h for a new execution', async () => {
      const { ws, flowId } = await setup();
      const old = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'daily' });
      await s.fx.query(`update executions set created_at = now() - interval '25 hours' where id = $1`, [old.execution.id]);
      const fresh = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'daily' });
      expect(fresh.created).toBe(true);
      expect(fresh.execution.id).not.toBe(old.execution.id);
      expect(fresh.execution.idempotencyKey).toBe('daily');
      expect((await s.repos.executions.getById(old.execution.id))?.idempotencyKey).toBeNull();
    });

    it('gives concurrent requests with an expired key one new execution, which all of them answer', async () => {
      const { ws, flowId } = await setup();
      const old = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'expired' });
      await s.fx.query(`update executions set created_at = now() - interval '25 hours' where id = $1`, [old.execution.id]);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) =>
        s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { i }, idempotencyKey: 'expired' })));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.execution.id)).size).toBe(1);
      expect(results[0]?.execution.id).not.toBe(old.execution.id);
      const holders = await s.fx.query<{ id: string }>(`select id::text from executions where workspace_id = $1 and idempotency_key = 'expired'`, [ws]);
      expect(holders).toEqual([{ id: results[0]?.execution.id }]);
    });

    it('lists newest first over several pages, with flow and status filters', async () => {
      const { ws, flowId } = await setup();
      const f2 = await s.repos.flows.create({ workspaceId: ws, flow: flowDef('y') });
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId: i % 2 === 0 ? flowId : f2.id, flowVersion: 1, input: { i } });
        ids.push(execution.id);
      }
      // Same created_at for two rows: the id breaks the tie, and no row is lost or repeated.
      await s.fx.query('update executions set created_at = (select created_at from executions where id = $1) where id = $2', [ids[3], ids[4]]);
      const expected = (await s.fx.query<{ id: string }>('select id::text from executions where workspace_id = $1 order by created_at desc, id desc', [ws])).map((r) => r.id);
      expect(expected).toHaveLength(7);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await s.repos.executions.list({ workspaceId: ws, limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null);
      expect(pages).toBe(3);
      expect(seen).toEqual(expected);

      const byFlow = await s.repos.executions.list({ workspaceId: ws, flowId: f2.id, limit: 10 });
      expect(byFlow.items.map((e) => e.id)).toEqual(expected.filter((id) => [ids[1], ids[3], ids[5]].includes(id)));
      expect(byFlow.nextCursor).toBeNull();

      await s.repos.executions.claimQueued({ executionId: ids[0]!, startedAt: new Date() });
      const running = await s.repos.executions.list({ workspaceId: ws, status: 'running', limit: 10 });
      expect(running.items.map((e) => e.id)).toEqual([ids[0]]);
      const flowAndStatus = await s.repos.executions.list({ workspaceId: ws, flowId, status: 'queued', limit: 10 });
      expect(flowAndStatus.items.map((e) => e.id)).toEqual(expected.filter((id) => [ids[2], ids[4], ids[6]].includes(id)));
      expect((await s.repos.executions.list({ workspaceId: ws, flowId: 'junk', limit: 10 })).items).toEqual([]);
      await expect(s.repos.executions.list({ workspaceId: ws, limit: 3, cursor: 'garbage' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      const other = await s.newWorkspace();
      expect((await s.repos.executions.list({ workspaceId: other.id, limit: 10 })).items).toEqual([]);
    });

    it('claims a queued row once, answering the row as it is now', async () => {
      const { ws, flowId } = await setup();
      const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { topic: 'x' } });
      const startedAt = new Date('2026-01-01T00:00:00.123Z');
      const first = await s.repos.executions.claimQueued({ executionId: execution.id, startedAt });
      expect(first).toMatchObject({ claimed: true, row: { id: execution.id, status: 'running', startedAt, input: { topic: 'x' }, flowId, flowVersion: 1 } });
      const again = await s.repos.executions.claimQueued({ executionId: execution.id, startedAt: new Date() });
      expect(again).toMatchObject({ claimed: false, row: { status: 'running', startedAt } });
      await s.repos.executions.finalize({ executionId: execution.id, status: 'cancelled', output: null, error: null, usage: null, cost: null, startedAt: null, finishedAt: new Date() });
      expect(await s.repos.executions.claimQueued({ executionId: execution.id, startedAt: new Date() })).toMatchObject({ claimed: false, row: { status: 'cancelled' } });
      expect(await s.repos.executions.claimQueued({ executionId: '00000000-0000-4000-8000-000000000000', startedAt: new Date() })).toBeNull();
      expect(await s.repos.executions.claimQueued({ executionId: 'junk', startedAt: new Date() })).toBeNull();
    });

    it('marks running only from queued, and finalizes idempotently', async () => {
      const { ws, flowId } = await setup();
      const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: {} });
      const startedAt = new Date('2026-01-01T00:00:00.123Z');
      expect((await s.repos.executions.claimQueued({ executionId: execution.id, startedAt }))?.claimed).toBe(true);
      expect((await s.repos.executions.claimQueued({ executionId: execution.id, startedAt: new Date() }))?.claimed).toBe(false);
      let row = await s.repos.executions.getById(execution.id);
      expect(row).toMatchObject({ status: 'running', startedAt });

      const final = {
        executionId: execution.id,
        status: 'completed' as const,
        output: { b: 'done' },
        error: null,
        usage: { promptTokens: 1, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, totalTokens: 3 },
        cost: { inputCost: 0.000001, outputCost: 0.00002, reasoningCost: 0, totalCost: 0.000021 },
        pricing: 'unpriced' as const,
        unpricedTokens: 3_000_000_000,
        startedAt: null,
        finishedAt: new Date('2026-01-01T00:00:05.000Z'),
      };
      await s.repos.executions.finalize(final);
      await s.repos.executions.finalize(final);
      await s.repos.executions.claimQueued({ executionId: execution.id, startedAt: new Date() });
      row = await s.repos.executions.getById(execution.id);
      expect(row).toMatchObject({ status: 'completed', output: { b: 'done' }, usage: final.usage, cost: final.cost, pricing: 'unpriced', unpricedTokens: 3_000_000_000, startedAt, finishedAt: final.finishedAt });

      await s.repos.executions.finalize({
        ...final, status: 'failed', output: null,
        error: { code: 'llm_auth', category: 'permanent', message: 'bad key', nodeId: 'a' },
      });
      expect((await s.repos.executions.getById(execution.id))?.error).toEqual({ code: 'llm_auth', category: 'permanent', message: 'bad key', nodeId: 'a' });
    });

    it('stores a live execution waiting and running again, and never a queued or ended one', async () => {
      const { ws, flowId } = await setup();
      const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: {} });
      await s.repos.executions.setLiveStatus({ executionId: execution.id, status: 'waiting' });
      expect((await s.repos.executions.getById(execution.id))?.status).toBe('queued');
      await s.repos.executions.claimQueued({ executionId: execution.id, startedAt: new Date() });
      await s.repos.executions.setLiveStatus({ executionId: execution.id, status: 'waiting' });
      expect((await s.repos.executions.getById(execution.id))?.status).toBe('waiting');
      expect((await s.repos.executions.list({ workspaceId: ws, status: 'waiting', limit: 10 })).items.map((r) => r.id)).toEqual([execution.id]);
      await s.repos.executions.setLiveStatus({ executionId: execution.id, status: 'running' });
      expect((await s.repos.executions.getById(execution.id))?.status).toBe('running');
      await s.repos.executions.finalize({
        executionId: execution.id, status: 'completed', output: null, error: null, usage: null, cost: null, startedAt: null, finishedAt: new Date(),
      });
      await s.repos.executions.setLiveStatus({ executionId: execution.id, status: 'waiting' });
      expect((await s.repos.executions.getById(execution.id))?.status).toBe('completed');
    });

    it('reopens a failed execution: running again, without end, error or output', async () => {
      const { ws, flowId } = await setup();
      const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { keep: true } });
      const startedAt = new Date('2026-02-03T04:05:06.789Z');
      const usage = { promptTokens: 5, completionTokens: 6, reasoningTokens: 0, cachedTokens: 0, totalTokens: 11 };
      await s.repos.executions.finalize({
        executionId: execution.id, status: 'failed', output: { partial: 1 }, usage, cost: null, startedAt,
        error: { code: 'node_timeout', category: 'transient', message: 'slow', nodeId: 'a' }, finishedAt: new Date('2026-02-03T04:05:07.000Z'),
      });
      await s.repos.executions.reopen({ executionId: execution.id });
      expect(await s.repos.executions.getById(execution.id)).toMatchObject({
        status: 'running', input: { keep: true }, output: null, error: null, finishedAt: null, startedAt, usage,
      });
      await s.repos.executions.reopen({ executionId: newId() });
    });

    it('finds the executions the recovery sweep looks for: queued too long, and live but untouched', async () => {
      const { ws, flowId } = await setup();
      const make = async (): Promise<string> => (await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null })).execution.id;
      const [q1, q2, q3, qNew, running, waiting, done] = [await make(), await make(), await make(), await make(), await make(), await make(), await make()];
      await s.repos.executions.claimQueued({ executionId: running, startedAt: new Date('1999-01-01T00:00:00.000Z') });
      await s.repos.executions.finalize({ executionId: waiting, status: 'waiting', output: null, error: null, usage: null, cost: null, startedAt: new Date('1999-01-01T00:00:00.000Z'), finishedAt: null });
      await s.repos.executions.finalize({ executionId: done, status: 'completed', output: 1, error: null, usage: null, cost: null, startedAt: new Date('1999-01-01T00:00:00.000Z'), finishedAt: new Date('1999-01-01T00:01:00.000Z') });
      // Far in the past, so that no other test's rows fall in the windows.
      const at = (minute: number): string => `1999-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
      for (const [id, created, updated] of [[q1, 3, 3], [q2, 1, 1], [q3, 2, 2], [running, 0, 5], [waiting, 0, 4], [done, 0, 1]] as const) {
        await s.fx.query('update executions set created_at = $2::timestamptz, updated_at = $3::timestamptz where id = $1', [id, at(created), at(updated)]);
      }
      const queued = await s.repos.executions.listQueuedBefore({ before: new Date(at(10)), limit: 10 });
      expect(queued.map((e) => e.id)).toEqual([q2, q3, q1]);
      expect(queued.map((e) => e.id)).not.toContain(qNew);
      expect((await s.repos.executions.listQueuedBefore({ before: new Date(at(10)), limit: 2 })).map((e) => e.id)).toEqual([q2, q3]);
      expect(await s.repos.executions.listQueuedBefore({ before: new Date(at(1)), limit: 10 })).toEqual([]);

      const live = await s.repos.executions.listLiveBefore({ before: new Date(at(10)), limit: 10 });
      expect(live.map((e) => [e.id, e.status])).toEqual([[waiting, 'waiting'], [running, 'running']]);
      expect((await s.repos.executions.listLiveBefore({ before: new Date(at(10)), limit: 1 })).map((e) => e.id)).toEqual([waiting]);
      expect((await s.repos.executions.listLiveBefore({ before: new Date(at(5)), limit: 10 })).map((e) => e.id)).toEqual([waiting]);
      // Picked up, they leave the windows.
      await s.repos.executions.claimQueued({ executionId: q2, startedAt: new Date() });
      expect((await s.repos.executions.listQueuedBefore({ before: new Date(at(10)), limit: 10 })).map((e) => e.id)).toEqual([q3, q1]);
    });
  });
}
