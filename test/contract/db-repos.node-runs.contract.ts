/**
 * Database contract, node runs and model pricing: the flusher's batched upserts and what it
 * compares against, a node's history (map items too), the newest upstream results a single-node
 * run reads, and the price list.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeRun as run, type DbReposSuite } from './db-repos.fixture.js';

export function nodeRunsContract(s: DbReposSuite): void {
  describe('output blobs (claim check)', () => {
    it('stores a blob once, reads it back only within its workspace, and goes with its execution', async () => {
      const e = await s.newExecution();
      const other = await s.newExecution();
      const blobId = randomUUID();
      const text = JSON.stringify('é'.repeat(300_000));
      const row = { executionId: e.executionId, blobId, workspaceId: e.ws, size: Buffer.byteLength(text), text };
      await s.repos.outputBlobs.insertMany([row]);
      // A re-flushed batch writes it again: nothing changes.
      await s.repos.outputBlobs.insertMany([{ ...row, text: '"changed"' }]);
      const address = { executionId: e.executionId, blobId };
      expect(await s.repos.outputBlobs.getMany({ workspaceId: e.ws, addresses: [address, { executionId: e.executionId, blobId: randomUUID() }] }))
        .toEqual(new Map([[`${e.executionId}:${blobId}`, text]]));
      expect((await s.repos.outputBlobs.getMany({ workspaceId: other.ws, addresses: [address] })).size).toBe(0);
      expect((await s.repos.outputBlobs.getMany({ workspaceId: e.ws, addresses: [] })).size).toBe(0);
      await s.fx.query('delete from executions where id = $1', [e.executionId]);
      expect((await s.repos.outputBlobs.getMany({ workspaceId: e.ws, addresses: [address] })).size).toBe(0);
    });
  });

  describe('node runs', () => {
    it('inserts, then updates on (execution, node, iteration)', async () => {
      const e = await s.newExecution();
      await s.repos.nodeRuns.upsertMany([run(e), run(e, { nodeId: 'b', nodeType: 'transform', status: 'pending', startedAt: null, provider: null, model: null })]);
      const completed = run(e, {
        status: 'completed', attempts: 2, output: 'the answer', finishedAt: new Date('2026-01-01T00:00:01.5Z'), runtimeMs: 1500,
        usage: { promptTokens: 3, completionTokens: 4, reasoningTokens: 0, cachedTokens: 0, totalTokens: 7 },
        cost: { inputCost: 0.1, outputCost: 0.2, reasoningCost: 0, totalCost: 0.3 },
        pricing: 'priced', pricedAs: 'gpt-4o',
      });
      await s.repos.nodeRuns.upsertMany([completed, run(e, { iteration: 1, usage: { promptTokens: 1, completionTokens: 1, reasoningTokens: 0, cachedTokens: 0, totalTokens: 2 }, pricing: 'unpriced' })]);
      const rows = await s.repos.nodeRuns.listByExecution(e.executionId);
      expect(rows).toHaveLength(3);
      expect(rows.find((r) => r.nodeId === 'a' && r.iteration === 0)).toEqual(completed);
      expect(rows.find((r) => r.nodeId === 'a' && r.iteration === 1)).toMatchObject({ cost: null, pricing: 'unpriced', pricedAs: null });
      expect(rows.find((r) => r.nodeId === 'b')?.status).toBe('pending');
      expect(await s.repos.nodeRuns.listByExecution('junk')).toEqual([]);
    });

    it('writes any JSON value and text unchanged through the batched upsert, with many rows at once', async () => {
      const e = await s.newExecution();
      const awkward = { quote: 'a"b', backslash: 'c\\d\\"e', braces: '{x,y}', comma: 'a,b', unicode: 'é😀\u2028', nested: [[1, 'two'], { 'k"': null }], empty: '' };
      const values: unknown[] = [awkward, 'a "string" \\ with {braces}', 42.5, [], true, null];
      const rows = values.map((output, i) => run(e, {
        nodeId: `n"${i},{x}\\`, status: 'completed', output, input: { i, text: 'NULL' }, model: i === 0 ? 'NULL' : 'm,"x"', finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 1, 123 + i)),
      }));
      // A batch larger than one chunk of rows: 600 more.
      const many = Array.from({ length: 600 }, (_v, i) => run(e, { nodeId: 'm', iteration: i + 1, status: 'completed', output: { i } }));
      await s.repos.nodeRuns.upsertMany([...rows, ...many]);
      const stored = await s.repos.nodeRuns.listByExecution(e.executionId);
      expect(stored).toHaveLength(rows.length + many.length);
      for (const row of rows) expect(stored.find((r) => r.nodeId === row.nodeId)).toEqual(row);
      expect(stored.find((r) => r.nodeId === 'm' && r.iteration === 600)?.output).toEqual({ i: 599 });
    });

    it("keeps a code node's console lines, and clears them when a later write has none", async () => {
      const e = await s.newExecution();
      const logs = [{ level: 'log' as const, message: 'n is 2' }, { level: 'warn' as const, message: 'careful: é' }];
      const withLogs = run(e, { nodeType: 'code', status: 'completed', output: 4, provider: null, model: null, logs });
      await s.repos.nodeRuns.upsertMany([withLogs, run(e, { nodeId: 'quiet', nodeType: 'code', provider: null, model: null })]);
      const rows = await s.repos.nodeRuns.listByExecution(e.executionId);
      expect(rows.find((r) => r.nodeId === 'a')).toEqual(withLogs);
      expect(rows.find((r) => r.nodeId === 'quiet')?.logs).toBeUndefined();
      await s.repos.nodeRuns.upsertMany([run(e, { nodeType: 'code', status: 'failed', attempts: 2, provider: null, model: null, error: { code: 'code_error', category: 'permanent', message: 'x' } })]);
      expect((await s.repos.nodeRuns.listByExecution(e.executionId)).find((r) => r.nodeId === 'a')?.logs).toBeUndefined();
    });

    it('lists an execution by start time (unstarted last), then node id and iteration', async () => {
      const e = await s.newExecution();
      const t = (sec: number): Date => new Date(`2026-01-01T00:00:0${sec}.000Z`);
      await s.repos.nodeRuns.upsertMany([
        run(e, { nodeId: 'z', startedAt: null, status: 'pending' }),
        run(e, { nodeId: 'c', startedAt: t(2) }),
        run(e, { nodeId: 'm', iteration: 1, startedAt: t(1) }),
        run(e, { nodeId: 'm', iteration: 0, startedAt: t(1) }),
        run(e, { nodeId: 'b', startedAt: t(1) }),
        run(e, { nodeId: 'a', startedAt: null, status: 'pending' }),
      ]);
      const rows = await s.repos.nodeRuns.listByExecution(e.executionId);
      expect(rows.map((r) => `${r.nodeId}#${r.iteration}`)).toEqual(['b#0', 'm#0', 'm#1', 'c#0', 'a#0', 'z#0']);
    });

    it('keeps the last row of a key within a batch, and never regresses a completed or skipped node', async () => {
      const e = await s.newExecution();
      await s.repos.nodeRuns.upsertMany([run(e, { attempts: 1 }), run(e, { status: 'completed', attempts: 2, output: 1 })]);
      await s.repos.nodeRuns.upsertMany([run(e, { status: 'running', attempts: 3 })]);
      let [row] = await s.repos.nodeRuns.listByExecution(e.executionId);
      expect(row).toMatchObject({ status: 'completed', attempts: 2, output: 1 });

      await s.repos.nodeRuns.upsertMany([run(e, { nodeId: 'f', status: 'failed', error: { code: 'llm_timeout', category: 'transient', message: 't' } })]);
      await s.repos.nodeRuns.upsertMany([run(e, { nodeId: 'f', status: 'running', attempts: 2 })]);
      row = (await s.repos.nodeRuns.listByExecution(e.executionId)).find((r) => r.nodeId === 'f');
      expect(row).toMatchObject({ status: 'running', attempts: 2, error: null });

      await s.repos.nodeRuns.upsertMany([run(e, { nodeId: 's', status: 'skipped', startedAt: null })]);
      await s.repos.nodeRuns.upsertMany([run(e, { nodeId: 's', status: 'pending', startedAt: null })]);
      expect((await s.repos.nodeRuns.listByExecution(e.executionId)).find((r) => r.nodeId === 's')?.status).toBe('skipped');
      // A terminal write does replace a completed row (a replayed node's new result).
      await s.repos.nodeRuns.upsertMany([run(e, { status: 'failed', attempts: 4, error: { code: 'internal_error', category: 'permanent', message: 'm' } })]);
      expect((await s.repos.nodeRuns.listByExecution(e.executionId)).find((r) => r.nodeId === 'a')).toMatchObject({ status: 'failed', attempts: 4 });
    });

    it('writes large batches in chunks', async () => {
      const e = await s.newExecution();
      const rows = Array.from({ length: 1200 }, (_, i) => run(e, { nodeId: `n${i}`, iteration: i % 3 }));
      await s.repos.nodeRuns.upsertMany(rows);
      await s.repos.nodeRuns.upsertMany([]);
      expect(await s.repos.nodeRuns.listByExecution(e.executionId)).toHaveLength(1200);
    });

    it('takes concurrent batches touching the same rows without an error', async () => {
      const e = await s.newExecution();
      const batch = (attempts: number) => Array.from({ length: 20 }, (_, i) => run(e, { nodeId: `n${i}`, attempts }));
      await Promise.all([1, 2, 3, 4].map((a) => s.repos.nodeRuns.upsertMany(batch(a))));
      const rows = await s.repos.nodeRuns.listByExecution(e.executionId);
      expect(rows).toHaveLength(20);
      for (const r of rows) expect([1, 2, 3, 4]).toContain(r.attempts);
    });

    it('tells what each recorded run holds, by node and iteration', async () => {
      const e = await s.newExecution();
      const finishedAt = new Date('2026-03-29T01:00:00.001Z');
      await s.repos.nodeRuns.upsertMany([
        run(e, { status: 'completed', finishedAt }),
        run(e, { nodeId: 'each[2].x', iteration: 2, status: 'running' }),
      ]);
      const versions = await s.repos.nodeRuns.listVersions(e.executionId);
      expect(versions).toEqual(new Map([
        ['a#0', { status: 'completed', finishedAt }],
        ['each[2].x#2', { status: 'running', finishedAt: null }],
      ]));
      expect(await s.repos.nodeRuns.listVersions('junk')).toEqual(new Map());
      expect((await s.repos.nodeRuns.listVersions((await s.newExecution()).executionId)).size).toBe(0);
    });

    it("lists a node's run history newest first, within the workspace", async () => {
      const e1 = await s.newExecution();
      const { execution: second } = await s.repos.executions.create({ workspaceId: e1.ws, flowId: e1.flowId, flowVersion: 1, input: null });
      const { execution: third } = await s.repos.executions.create({ workspaceId: e1.ws, flowId: e1.flowId, flowVersion: 1, input: null });
      const e2 = { ...e1, executionId: second.id };
      const e3 = { ...e1, executionId: third.id };
      await s.repos.nodeRuns.upsertMany([
        run(e1, { status: 'completed', finishedAt: new Date('2026-01-01T00:00:01Z') }),
        run(e2, { status: 'completed', finishedAt: new Date('2026-01-02T00:00:01Z') }),
        run(e2, { nodeId: 'b', status: 'completed', finishedAt: new Date('2026-01-03T00:00:01Z') }),
        run(e3, { status: 'running', finishedAt: null }),
      ]);
      const history = await s.repos.nodeRuns.listByNode({ workspaceId: e1.ws, flowId: e1.flowId, nodeId: 'a', limit: 10 });
      // Unfinished runs come last.
      expect(history.map((r) => r.executionId)).toEqual([e2.executionId, e1.executionId, e3.executionId]);
      expect(await s.repos.nodeRuns.listByNode({ workspaceId: e1.ws, flowId: e1.flowId, nodeId: 'a', limit: 1 })).toHaveLength(1);
      const other = await s.newWorkspace();
      expect(await s.repos.nodeRuns.listByNode({ workspaceId: other.id, flowId: e1.flowId, nodeId: 'a', limit: 10 })).toEqual([]);
      expect(await s.repos.nodeRuns.listByNode({ workspaceId: e1.ws, flowId: 'junk', nodeId: 'a', limit: 10 })).toEqual([]);
    });

    it("lists a map sub-graph node's runs in every item, taking its ids literally", async () => {
      const e = await s.newExecution();
      const done = (sec: number): Date => new Date(`2026-01-01T00:00:${String(sec).padStart(2, '0')}Z`);
      await s.repos.nodeRuns.upsertMany([
        run(e, { nodeId: 'each_1[0].ask_x', iteration: 0, status: 'completed', finishedAt: done(1) }),
        run(e, { nodeId: 'each_1[12].ask_x', iteration: 12, status: 'completed', finishedAt: done(3) }),
        run(e, { nodeId: 'each_1[1].ask_x', iteration: 1, status: 'failed', finishedAt: done(2) }),
        // `_` is a LIKE wildcard: these must not match map `each_1`, node `ask_x`.
        run(e, { nodeId: 'eachX1[0].ask_x', iteration: 0, status: 'completed', finishedAt: done(4) }),
        run(e, { nodeId: 'each_1[0].askXx', iteration: 0, status: 'completed', finishedAt: done(5) }),
        run(e, { nodeId: 'ask_x', status: 'completed', finishedAt: done(6) }),
      ]);
      const items = await s.repos.nodeRuns.listByNode({ workspaceId: e.ws, flowId: e.flowId, mapId: 'each_1', nodeId: 'ask_x', limit: 10 });
      expect(items.map((r) => r.nodeId)).toEqual(['each_1[12].ask_x', 'each_1[1].ask_x', 'each_1[0].ask_x']);
      const plain = await s.repos.nodeRuns.listByNode({ workspaceId: e.ws, flowId: e.flowId, nodeId: 'ask_x', limit: 10 });
      expect(plain.map((r) => r.nodeId)).toEqual(['ask_x']);
    });

    it("finds each node's newest completed run across the flow's executions", async () => {
      const e1 = await s.newExecution();
      const { execution: second } = await s.repos.executions.create({ workspaceId: e1.ws, flowId: e1.flowId, flowVersion: 1, input: null });
      const e2 = { ...e1, executionId: second.id };
      const older = run(e1, { status: 'completed', output: 'old', finishedAt: new Date('2026-01-01T00:00:00Z') });
      const newer = run(e2, { status: 'completed', output: 'new', finishedAt: new Date('2026-01-02T00:00:00Z') });
      const b = run(e1, { nodeId: 'b', status: 'completed', output: { b: true }, finishedAt: new Date('2026-01-01T00:00:01Z') });
      await s.repos.nodeRuns.upsertMany([
        older, b,
        run(e1, { nodeId: 'c', status: 'failed', finishedAt: new Date('2026-01-05T00:00:00Z') }),
      ]);
      await s.repos.nodeRuns.upsertMany([newer, run(e2, { nodeId: 'b', status: 'failed', finishedAt: new Date('2026-01-09T00:00:00Z') })]);
      const latest = await s.repos.nodeRuns.latestCompleted({ workspaceId: e1.ws, flowId: e1.flowId, nodeIds: ['a', 'b', 'c', 'missing'] });
      expect([...latest.keys()].sort()).toEqual(['a', 'b']);
      expect(latest.get('a')).toEqual(newer);
      expect(latest.get('b')).toEqual(b);
      expect(await s.repos.nodeRuns.latestCompleted({ workspaceId: e1.ws, flowId: e1.flowId, nodeIds: [] })).toEqual(new Map());
      expect(await s.repos.nodeRuns.latestCompleted({ workspaceId: e1.ws, flowId: 'junk', nodeIds: ['a'] })).toEqual(new Map());
      const other = await s.newWorkspace();
      expect(await s.repos.nodeRuns.latestCompleted({ workspaceId: other.id, flowId: e1.flowId, nodeIds: ['a'] })).toEqual(new Map());
    });

    it('goes with its execution', async () => {
      const e = await s.newExecution();
      await s.repos.nodeRuns.upsertMany([run(e)]);
      await s.fx.query('delete from executions where id = $1', [e.executionId]);
      expect(await s.repos.nodeRuns.listByExecution(e.executionId)).toEqual([]);
    });
  });

  describe('model pricing', () => {
    it('upserts, gets and lists prices as numbers', async () => {
      const repo = s.repos.pricing;
      const price = { provider: 'openai', model: 'contract-mini', inputPer1M: 0.15, outputPer1M: 0.6, reasoningPer1M: 0, cachedPer1M: 0.075 };
      expect(await repo.upsert(price)).toEqual(price);
      expect(await repo.get('openai', 'contract-mini')).toEqual(price);
      const updated = { ...price, inputPer1M: 0.125, outputPer1M: 1.000001 };
      expect(await repo.upsert(updated)).toEqual(updated);
      expect(await repo.get('openai', 'contract-mini')).toEqual(updated);
      await repo.upsert({ provider: 'anthropic', model: 'contract-sonnet', inputPer1M: 3, outputPer1M: 15, reasoningPer1M: 15, cachedPer1M: 0.3 });
      const list = await repo.list();
      expect(list.map((p) => `${p.provider}/${p.model}`)).toEqual(expect.arrayContaining(['anthropic/contract-sonnet', 'openai/contract-mini']));
      expect(list.find((p) => p.model === 'contract-mini')).toEqual(updated);
      expect(await repo.get('openai', 'nope')).toBeNull();
    });

    it('lists the seeded prices too, as numbers', async () => {
      const list = await s.repos.pricing.list();
      expect(list.length).toBeGreaterThan(1);
      for (const p of list) expect([p.inputPer1M, p.outputPer1M, p.reasoningPer1M, p.cachedPer1M].every((n) => typeof n === 'number')).toBe(true);
    });

    it('keeps prices exact, however many decimals', async () => {
      const price = { provider: 'openai-compatible', model: 'contract-exact', inputPer1M: 0.000001, outputPer1M: 123456.123456789, reasoningPer1M: 0.1 + 0.2, cachedPer1M: 1e-12 };
      expect(await s.repos.pricing.upsert(price)).toEqual(price);
      expect(await s.repos.pricing.get('openai-compatible', 'contract-exact')).toEqual(price);
    });
  });
}
