/**
 * Database contract, where node-postgres and PGlite could part ways: how values cross the
 * driver (numeric costs, jsonb, timestamps with time zone), how constraint violations surface,
 * and that a failed transaction leaves nothing behind and the connection usable.
 */
import { describe, expect, it } from 'vitest';
import type { NodeRunRow } from '@weft/db/repos';
import { isDependencyFailure } from '@weft/shared/errors';
import { newId } from '@weft/shared/ids';
import { flowDef, nodeRun as run, rejectionOf, sqlState, type DbReposSuite } from './db-repos.fixture.js';

/** Strings that stress encodings: multi-byte, astral, combining, right-to-left, JSON escapes. */
const AWKWARD_STRINGS = [
  'ünïcödé', '中文字符', '😀👍🏽👨‍👩‍👧', 'e\u0301', 'עברית', 'quote " backslash \\ slash /', 'tab\tnew\nline\r',
  '\u2028\u2029', '\u007f\u0001', '{"not":"json"}', 'null', '',
];

const AWKWARD_NUMBERS = [
  0, 1, -1, 0.1, 0.1 + 0.2, 1e-7, 1.5e-300, 123.456, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
  2 ** 53 + 2, Number('12345678901234567890'), 1e21, 1.7976931348623157e308, Number.MIN_VALUE,
];

export function valuesContract(s: DbReposSuite): void {
  describe('numeric costs', () => {
    it('sums 1000 node runs of $0.00189 to exactly $1.89 in SQL, and writes the execution total', async () => {
      const e = await s.newExecution();
      const cost = { inputCost: 0.000105, outputCost: 0.001785, reasoningCost: 0, totalCost: 0.00189 };
      const rows: NodeRunRow[] = Array.from({ length: 1000 }, (_, i) => run(e, {
        nodeId: `n${i}`, status: 'completed', output: 'x', cost, startedAt: new Date('2026-01-01T00:00:00Z'), finishedAt: new Date('2026-01-01T00:00:01Z'),
      }));
      await s.repos.nodeRuns.upsertMany(rows);
      await s.repos.executions.finalize({
        executionId: e.executionId, status: 'completed', output: null, error: null, usage: null,
        cost: { ...cost, totalCost: 1.89 }, startedAt: null, finishedAt: new Date('2026-01-01T00:00:02Z'),
      });
      const [sum] = await s.fx.query<{ total: string }>('select sum(total_cost_usd)::text as total from node_runs where execution_id = $1', [e.executionId]);
      expect(sum?.total).toBe('1.890000000');
      const [exec] = await s.fx.query<{ total: string }>('select total_cost_usd::text as total from executions where id = $1', [e.executionId]);
      expect(exec?.total).toBe('1.890000000');
      expect((await s.repos.executions.getById(e.executionId))?.cost).toEqual({ ...cost, totalCost: 1.89 });
    });

    it('stores each total as numeric(20,9): exact to the nano-dollar, rounded beyond, null without a cost', async () => {
      const e = await s.newExecution();
      const totals: Array<[number, string]> = [
        [0.000000001, '0.000000001'], [1e-9, '0.000000001'], [0.1 + 0.2, '0.300000000'], [0.1234567894, '0.123456789'],
        [0.1234567895, '0.123456790'], [12345.678901234, '12345.678901234'], [99999999999.5, '99999999999.500000000'], [0, '0.000000000'],
      ];
      await s.repos.nodeRuns.upsertMany([
        ...totals.map(([totalCost], i) => run(e, { nodeId: `c${i}`, status: 'completed', cost: { inputCost: totalCost, outputCost: 0, reasoningCost: 0, totalCost } })),
        run(e, { nodeId: 'free', cost: null }),
      ]);
      const stored = await s.fx.query<{ node_id: string; total: string | null }>(
        'select node_id, total_cost_usd::text as total from node_runs where execution_id = $1', [e.executionId]);
      const byNode = new Map(stored.map((r) => [r.node_id, r.total]));
      totals.forEach(([, text], i) => { expect(byNode.get(`c${i}`), `c${i}`).toBe(text); });
      expect(byNode.get('free')).toBeNull();
      // The JSON cost keeps the float the engine computed, unrounded.
      const listed = await s.repos.nodeRuns.listByExecution(e.executionId);
      totals.forEach(([totalCost], i) => { expect(listed.find((r) => r.nodeId === `c${i}`)?.cost?.totalCost).toBe(totalCost); });
    });

    it('refuses a total beyond numeric(20,9), the same way on every backend', async () => {
      const e = await s.newExecution();
      const err = await rejectionOf(s.repos.nodeRuns.upsertMany([
        run(e, { nodeId: 'ok' }),
        run(e, { nodeId: 'huge', status: 'completed', cost: { inputCost: 0, outputCost: 0, reasoningCost: 0, totalCost: 1e12 } }),
      ]));
      expect(sqlState(err)).toBe('22003');
      expect(isDependencyFailure(err)).toBe(false);
      // One statement: the valid row of the batch is not written either.
      expect(await s.repos.nodeRuns.listByExecution(e.executionId)).toEqual([]);
    });

    it('round-trips cost caps exactly', async () => {
      const { ws, flowId } = await s.newExecution();
      for (const maxCostUsd of [0.25, 0.1 + 0.2, 1e-9, 0.000123456789012, 1234567.891, 0, null]) {
        const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, maxCostUsd });
        expect((await s.repos.executions.getById(execution.id))?.maxCostUsd, String(maxCostUsd)).toBe(maxCostUsd);
      }
    });
  });

  describe('jsonb', () => {
    it('round-trips unicode strings, as values and as keys', async () => {
      const { ws, flowId } = await s.newExecution();
      const input = { strings: AWKWARD_STRINGS, byKey: Object.fromEntries(AWKWARD_STRINGS.map((v, i) => [v, i])) };
      const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input });
      expect(execution.input).toEqual(input);
      expect((await s.repos.executions.getById(execution.id))?.input).toEqual(input);
      const flow = await s.repos.flows.create({ workspaceId: ws, flow: flowDef('ünï 😀', AWKWARD_STRINGS.join('|')) });
      expect((await s.repos.flows.get({ workspaceId: ws, flowId: flow.id }))?.name).toBe('ünï 😀');
      expect(await s.repos.flows.getVersion(flow.id, 1)).toEqual(flow);
      expect(flow.nodes[0]).toMatchObject({ prompt: AWKWARD_STRINGS.join('|') });
    });

    it('round-trips large, tiny and fractional numbers as the same doubles', async () => {
      const e = await s.newExecution();
      const output = { numbers: AWKWARD_NUMBERS, nested: { deep: [[AWKWARD_NUMBERS]] } };
      await s.repos.nodeRuns.upsertMany([run(e, { status: 'completed', output, input: AWKWARD_NUMBERS })]);
      const [row] = await s.repos.nodeRuns.listByExecution(e.executionId);
      expect(row?.output).toEqual(output);
      expect(row?.input).toEqual(AWKWARD_NUMBERS);
      // Each value is the very same double, not merely close.
      (row?.input as number[]).forEach((n, i) => { expect(Object.is(n, AWKWARD_NUMBERS[i])).toBe(true); });
    });

    it('keeps top-level scalars and empty containers, and null as null', async () => {
      const { ws, flowId } = await s.newExecution();
      for (const input of [0, false, true, '', 'text', [], {}, [null], { a: null }, null]) {
        const { execution } = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input });
        expect((await s.repos.executions.getById(execution.id))?.input, JSON.stringify(input)).toEqual(input);
      }
    });

    it('round-trips large documents: a request-sized input and a multi-megabyte node output', async () => {
      const e = await s.newExecution();
      // Near the default body limit (1 MiB) of a start request, in many small values.
      const input = { rows: Array.from({ length: 16_000 }, (_, i) => ({ i, text: `row ${i} ünï 😀`, n: i / 7 })) };
      const { execution } = await s.repos.executions.create({ workspaceId: e.ws, flowId: e.flowId, flowVersion: 1, input });
      expect(JSON.stringify(input).length).toBeGreaterThan(800_000);
      expect((await s.repos.executions.getById(execution.id))?.input).toEqual(input);
      // One long string, as an HTTP node's body or a long completion would be.
      const output = { body: 'ab✓😀'.repeat(1_000_000) };
      await s.repos.nodeRuns.upsertMany([run({ ...e, executionId: execution.id }, { status: 'completed', output })]);
      const [row] = await s.repos.nodeRuns.listByExecution(execution.id);
      expect((row?.output as { body: string }).body.length).toBe(output.body.length);
      expect(row?.output).toEqual(output);
    });

    it('refuses a NUL character, and a lone surrogate, the same way on every backend', async () => {
      const { ws, flowId } = await s.newExecution();
      const nul = await rejectionOf(s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { s: 'a\u0000b' } }));
      expect(sqlState(nul)).toBe('22P05');
      const lone = await rejectionOf(s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { s: '\ud800' } }));
      expect(sqlState(lone)).toBe('22P02');
      expect((await s.repos.executions.list({ workspaceId: ws, limit: 10 })).items).toHaveLength(1);
    });
  });

  describe('timestamps with time zone', () => {
    const instants = [
      '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000Z', '2000-02-29T12:00:00.001Z',
      // St. John's daylight saving starts and ends: a wall-clock hour that does not exist, and one that repeats.
      '2026-03-08T05:30:00.000Z', '2026-03-08T05:29:59.999Z', '2026-11-01T04:30:00.500Z', '2026-11-01T03:30:00.500Z',
      '2999-12-31T23:59:59.999Z',
    ];

    it('reads back the same instant, to the millisecond, through repos and raw SQL', async () => {
      const e = await s.newExecution();
      await s.repos.nodeRuns.upsertMany(instants.map((at, i) => run(e, { nodeId: `t${i}`, startedAt: new Date(at), finishedAt: new Date(at), status: 'completed' })));
      const rows = await s.repos.nodeRuns.listByExecution(e.executionId);
      for (const [i, at] of instants.entries()) {
        const row = rows.find((r) => r.nodeId === `t${i}`);
        expect(row?.startedAt?.toISOString(), at).toBe(at);
        expect(row?.finishedAt?.toISOString(), at).toBe(at);
      }
      const raw = await s.fx.query<{ node_id: string; utc: string; epoch_ms: string }>(
        `select node_id, to_char(finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as utc,
                (extract(epoch from finished_at) * 1000)::bigint::text as epoch_ms
           from node_runs where execution_id = $1`, [e.executionId]);
      for (const [i, at] of instants.entries()) {
        const row = raw.find((r) => r.node_id === `t${i}`);
        expect(row?.utc).toBe(at);
        expect(row?.epoch_ms).toBe(String(Date.parse(at)));
      }
    });

    it('orders by instant, not by wall clock, across offset changes', async () => {
      const e = await s.newExecution();
      const { execution: second } = await s.repos.executions.create({ workspaceId: e.ws, flowId: e.flowId, flowVersion: 1, input: null });
      const executions = [e.executionId, second.id];
      // Out of order on purpose; the two around 2026-11-01 show the same wall-clock time in St. John's.
      const order = [3, 0, 6, 7, 1, 5, 2, 4];
      await s.repos.nodeRuns.upsertMany(order.map((i) => run({ ...e, executionId: executions[i % 2]! }, {
        nodeId: 'h', iteration: i, status: 'completed', finishedAt: new Date(instants[i]!),
      })));
      const history = await s.repos.nodeRuns.listByNode({ workspaceId: e.ws, flowId: e.flowId, nodeId: 'h', limit: 20 });
      const expected = [...instants].sort().reverse();
      expect(history.map((r) => r.finishedAt?.toISOString())).toEqual(expected);
    });

    it('rounds sub-millisecond times written by SQL to the millisecond, and pages past them', async () => {
      const { ws, flowId } = await s.newExecution();
      const ids: string[] = [(await s.repos.executions.list({ workspaceId: ws, limit: 1 })).items[0]!.id];
      for (let i = 0; i < 4; i++) ids.push((await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: { i } })).execution.id);
      const micro = ['2026-05-01 10:00:00.123456+00', '2026-05-01 10:00:00.123499+00', '2026-05-01 10:00:00.1235+00', '2026-05-01 12:30:00.123456+02:30', '2026-05-01 10:00:00.9999+00'];
      for (const [i, at] of micro.entries()) await s.fx.query('update executions set created_at = $2::timestamptz where id = $1', [ids[i], at]);
      const stored = await s.fx.query<{ id: string; at: string }>(
        `select id::text, to_char(created_at at time zone 'UTC', 'HH24:MI:SS.US') as at from executions where workspace_id = $1`, [ws]);
      expect(new Map(stored.map((r) => [r.id, r.at]))).toEqual(new Map([
        [ids[0], '10:00:00.123000'], [ids[1], '10:00:00.123000'], [ids[2], '10:00:00.124000'], [ids[3], '10:00:00.123000'], [ids[4], '10:00:01.000000'],
      ]));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await s.repos.executions.list({ workspaceId: ws, limit: 1, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((x) => x.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      const tied = [ids[0]!, ids[1]!, ids[3]!].sort().reverse();
      expect(seen).toEqual([ids[4], ids[2], ...tied]);
    });
  });

  describe('text order', () => {
    // Code-point order. A database's collation would order them otherwise (en-US: `_x a A a_c a-b ab b B z Z_1 Z1`):
    // PGlite's databases are always C, Postgres' are what initdb or CREATE DATABASE chose.
    const names = ['b', 'A', 'a', 'B', '_x', 'Z_1', 'Z1', 'z', 'a-b', 'ab', 'a_c'];
    const codePointOrder = [...names].sort();

    it('lists secrets by name in code-point order', async () => {
      const ws = (await s.newWorkspace()).id;
      for (const name of names.filter((n) => !n.includes('-'))) await s.repos.secrets.put({ workspaceId: ws, name, value: name });
      expect((await s.repos.secrets.list(ws)).map((x) => x.name)).toEqual(codePointOrder.filter((n) => !n.includes('-')));
    });

    it('lists prices by provider, then model, in code-point order', async () => {
      for (const model of names) {
        await s.repos.pricing.upsert({ provider: 'contract-order', model, inputPer1M: 1, outputPer1M: 1, reasoningPer1M: 0, cachedPer1M: 0 });
      }
      const listed = (await s.repos.pricing.list()).filter((p) => p.provider === 'contract-order').map((p) => p.model);
      expect(listed).toEqual(codePointOrder);
      const providers = (await s.repos.pricing.list()).map((p) => p.provider);
      expect(providers).toEqual([...providers].sort());
    });

    it("lists an execution's node runs that started together by node id in code-point order", async () => {
      const e = await s.newExecution();
      await s.repos.nodeRuns.upsertMany(names.map((nodeId) => run(e, { nodeId })));
      expect((await s.repos.nodeRuns.listByExecution(e.executionId)).map((r) => r.nodeId)).toEqual(codePointOrder);
    });
  });

  describe('constraint violations and transactions', () => {
    it('rolls a flow update back fully when its version is taken, and the connection stays usable', async () => {
      const ws = await s.newWorkspace();
      const f = await s.repos.flows.create({ workspaceId: ws.id, flow: flowDef('v1') });
      // A version 2 the update does not expect: its insert violates the primary key after the flow row moved on.
      await s.fx.query(`insert into flow_versions (flow_id, version, definition) values ($1, 2, '{"name":"intruder","nodes":[],"edges":[]}')`, [f.id]);
      const [updated, created] = await Promise.allSettled([
        s.repos.flows.update({ workspaceId: ws.id, flowId: f.id, flow: flowDef('v2') }),
        s.repos.flows.create({ workspaceId: ws.id, flow: flowDef('bystander') }),
      ]);
      expect(updated.status).toBe('rejected');
      const err = updated.status === 'rejected' ? updated.reason as unknown : undefined;
      expect(sqlState(err)).toBe('23505');
      expect(isDependencyFailure(err)).toBe(false);
      expect(created.status).toBe('fulfilled');

      const [flowRow] = await s.fx.query<{ name: string; latest_version: number }>('select name, latest_version from flows where id = $1', [f.id]);
      expect(flowRow).toEqual({ name: 'v1', latest_version: 1 });
      expect(await s.repos.flows.get({ workspaceId: ws.id, flowId: f.id })).toEqual(f);
      // The bystander committed on its own, outside the failed transaction.
      expect((await s.repos.flows.list({ workspaceId: ws.id, limit: 10 })).items.map((x) => x.name).sort()).toEqual(['bystander', 'v1']);
      await s.fx.query('delete from flow_versions where flow_id = $1 and version = 2', [f.id]);
      expect((await s.repos.flows.update({ workspaceId: ws.id, flowId: f.id, flow: flowDef('v2') }))?.version).toBe(2);
    });

    it('answers CONFLICT when an idempotency key stays taken through every attempt', async () => {
      const { ws, flowId } = await s.newExecution();
      const old = await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'held' });
      await s.fx.query(`update executions set created_at = now() - interval '25 hours' where id = $1`, [old.execution.id]);
      // Another request holding the expired key: every release of it is undone.
      const fn = `weft_hold_key_${newId().replaceAll('-', '')}`;
      await s.fx.query(`create function ${fn}() returns trigger language plpgsql as $$ begin return null; end $$`);
      await s.fx.query(`create trigger ${fn} before update on executions for each row when (old.id = '${old.execution.id}') execute function ${fn}()`);
      try {
        await expect(s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'held' }))
          .rejects.toMatchObject({ code: 'CONFLICT' });
      } finally {
        await s.fx.query(`drop trigger ${fn} on executions`);
        await s.fx.query(`drop function ${fn}()`);
      }
      const rows = await s.fx.query<{ id: string; idempotency_key: string | null }>('select id::text, idempotency_key from executions where workspace_id = $1 and idempotency_key is not null', [ws]);
      expect(rows).toEqual([{ id: old.execution.id, idempotency_key: 'held' }]);
      expect((await s.repos.executions.create({ workspaceId: ws, flowId, flowVersion: 1, input: null, idempotencyKey: 'held' })).created).toBe(true);
    });

    it('refuses an execution of a missing flow with a foreign key violation', async () => {
      const ws = await s.newWorkspace();
      const noFlow = await rejectionOf(s.repos.executions.create({ workspaceId: ws.id, flowId: newId(), flowVersion: 1, input: null }));
      expect(sqlState(noFlow)).toBe('23503');
      expect(isDependencyFailure(noFlow)).toBe(false);
      expect((await s.repos.executions.list({ workspaceId: ws.id, limit: 10 })).items).toEqual([]);
    });

    it('drops the node runs of an execution that no longer exists (its workspace was deleted), and writes the others of the batch', async () => {
      const e = await s.newExecution();
      const gone = newId();
      await s.repos.nodeRuns.upsertMany([run({ ...e, executionId: gone }), run(e, { nodeId: 'kept' })]);
      expect(await s.fx.query('select 1 from node_runs where execution_id = $1', [gone])).toHaveLength(0);
      expect((await s.repos.nodeRuns.listByExecution(e.executionId)).map((r) => r.nodeId)).toContain('kept');
    });

    it('creates a workspace and its key together, or neither', async () => {
      const count = async (table: string): Promise<string | undefined> => (await s.fx.query<{ n: string }>(`select count(*)::text as n from ${table}`))[0]?.n;
      const before = [await count('workspaces'), await count('api_keys')];
      // The key's insert, second in the transaction, fails: the workspace inserted first must go too.
      const fn = `weft_no_keys_${newId().replaceAll('-', '')}`;
      await s.fx.query(`create function ${fn}() returns trigger language plpgsql as $$ begin raise exception 'no keys' using errcode = '23514'; end $$`);
      await s.fx.query(`create trigger ${fn} before insert on api_keys for each row execute function ${fn}()`);
      try {
        const err = await rejectionOf(s.repos.workspaces.create({ name: 'half-made' }));
        expect(sqlState(err)).toBe('23514');
      } finally {
        await s.fx.query(`drop trigger ${fn} on api_keys`);
        await s.fx.query(`drop function ${fn}()`);
      }
      expect([await count('workspaces'), await count('api_keys')]).toEqual(before);
      expect(await s.fx.query(`select id from workspaces where name = 'half-made'`)).toEqual([]);
      const after = await s.newWorkspace('after');
      expect((await s.repos.workspaces.authenticate(after.apiKey))?.workspaceId).toBe(after.id);
    });

    it('stores a lone surrogate in a text column as U+FFFD on every backend', async () => {
      const { workspace } = await s.repos.workspaces.create({ name: 'x\ud800y' });
      expect((await s.repos.workspaces.get(workspace.id))?.name).toBe('x\ufffdy');
    });

    it('refuses a NUL character in a text column the same way on every backend, storing nothing', async () => {
      const before = await s.fx.query<{ n: string }>('select count(*)::text as n from workspaces');
      const err = await rejectionOf(s.repos.workspaces.create({ name: 'bad\u0000name' }));
      expect(sqlState(err)).toBe('22021');
      expect(await s.fx.query<{ n: string }>('select count(*)::text as n from workspaces')).toEqual(before);
    });
  });
}
