/**
 * The claim check on real processes (one api, one worker, a private Redis, Postgres): a node
 * whose output is 3.2 MB stores it once, and everything that carries results carries
 * `{ref, size}` instead — hot state, the downstream node's job data, the flush stream, the event
 * stream and the published events — while the nodes downstream still read the whole value: a
 * transform, a condition, a map's items and the node of each item.
 * The Redis server is the test's own, so that MONITOR sees every command the fleet sends and
 * nothing else: the only commands carrying the bytes are the blob writes.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-services.js';
import { createScratchDatabase } from '../helpers/scratch.js';
import { uniqueId } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack, STACK_START_MS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const SMALL = 4096;
/** Past this, a Redis command carries an output's bytes (the threshold is 256 KiB). */
const CARRIES_BYTES = 64 * 1024;
const ITEMS = 50_000;
/** What node a builds: 50,000 numbers left-padded to 63 characters, joined by '|' (3,199,999 characters). */
const BIG = Array.from({ length: ITEMS }, (_, i) => String(i).padStart(63, '.')).join('|');
const BIG_SIZE = BIG.length + 2;
const READ_BACK = { length: BIG.length, last: BIG.slice(-10), parts: ITEMS };

interface Command {
  args: string[];
  bytes: number;
}

describe('claim check: a 3 MB output is stored once and referenced (api + 1 worker)', () => {
  let redisServer: PrivateRedis;
  let database: { url: string; drop: () => Promise<void> };
  let stack: DistributedStack;
  let redis: Redis;
  let monitor: Redis;
  let subscriber: Redis;
  let db: pg.Client;
  let prefix: string;
  const commands: Command[] = [];
  const published: string[] = [];

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    database = await createScratchDatabase(inject('databaseUrl'), `weft_t_${uniqueId(12)}`);
    prefix = `wt${uniqueId()}`;
    redis = new Redis(redisServer.url);
    monitor = await new Redis(redisServer.url).monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      commands.push({ args: args.map((a) => (a.length > 200 ? `${a.slice(0, 200)}…` : a)), bytes: args.reduce((n, a) => n + a.length, 0) });
    });
    subscriber = new Redis(redisServer.url);
    subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => { published.push(message); });
    await subscriber.psubscribe(`${prefix}:events:*`);
    // Building and reading 3 MB in JSONata takes well under the default second on an idle machine;
    // the bound is raised so that a loaded one cannot fail node a for time (not what is tested here).
    stack = await startDistributedStack({ redisUrl: redisServer.url, databaseUrl: database.url, prefix, workers: ['w-claim'], env: { WEFT_EXPRESSION_TIMEOUT_MS: '60000' } });
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
  }, STACK_START_MS);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    monitor?.disconnect();
    subscriber?.disconnect();
    redis?.disconnect();
    redisServer?.destroy();
    await database?.drop();
  });

  it('keeps hot state, job data, flush entries and events small; the downstream node and ?include=outputs see the whole value', async () => {
    const call = apiClient(stack.baseUrl, await stack.createWorkspace('claim-check'));
    const flow = await call('POST', '/v1/flows', {
      name: 'big output',
      nodes: [
        { id: 'a', type: 'transform', expression: `$join([0..${ITEMS - 1}].$pad($string($), -63, "."), "|")` },
        { id: 'b', type: 'transform', expression: '{"length": $length(nodes.a), "last": $substring(nodes.a, -10), "parts": $count($split(nodes.a, "|"))}' },
        { id: 'd', type: 'transform', expression: 'nodes.a' },
        // A condition and a map's items read it too, and so does a node of each item.
        { id: 'c', type: 'condition', expression: `$length(nodes.a) = ${BIG.length}` },
        { id: 'yes', type: 'transform', expression: '"taken"' },
        { id: 'no', type: 'transform', expression: '"wrong"' },
        {
          id: 'm', type: 'map', items: `$split(nodes.a, "|")[[${ITEMS - 3}..${ITEMS - 1}]]`, concurrency: 3,
          graph: { nodes: [{ id: 't', type: 'transform', expression: '{"item": $trim($replace(item, ".", " ")), "of": $length(nodes.a)}' }], edges: [] },
        },
      ],
      edges: [
        { from: 'a', to: 'b' }, { from: 'a', to: 'd' }, { from: 'a', to: 'c' }, { from: 'a', to: 'm' },
        { from: 'c', to: 'yes', when: true }, { from: 'c', to: 'no', when: false },
      ],
    });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const flowId = flow.body.id as string;
    const start = await call('POST', `/v1/flows/${flowId}/executions`, { input: {} });
    expect(start.status).toBe(202);
    const executionId = start.body.executionId as string;
    const placeholder = { ref: expect.stringMatching(new RegExp(`^weft-blob:${executionId}:`)) as unknown, size: BIG_SIZE };

    // Postgres has the final row once the flusher wrote it (the blobs first).
    const ended = await waitFor(async () => {
      const row = (await db.query<{ status: string; error: unknown }>('select status, error from executions where id = $1', [executionId])).rows[0];
      return row && ['completed', 'failed', 'cancelled'].includes(row.status) ? row : null;
    }, { timeoutMs: 90_000, message: 'execution ended and flushed' });
    expect(ended, JSON.stringify(ended)).toMatchObject({ status: 'completed', error: null });

    // The downstream transform read the whole value.
    const runs = await db.query<{ node_id: string; status: string; output: unknown }>('select node_id, status, output from node_runs where execution_id = $1', [executionId]);
    const outputs = Object.fromEntries(runs.rows.map((r) => [r.node_id, r.status === 'skipped' ? 'skipped' : r.output]));
    const mapOutput = [ITEMS - 3, ITEMS - 2, ITEMS - 1].map((n) => ({ item: String(n), of: BIG.length }));
    expect(outputs).toEqual({
      a: placeholder, b: READ_BACK, d: placeholder, c: true, yes: 'taken', no: 'skipped', m: mapOutput,
      'm[0].t': mapOutput[0], 'm[1].t': mapOutput[1], 'm[2].t': mapOutput[2],
    });
    const blobs = await db.query<{ size: number; length: number }>('select size, length(value) as length from output_blobs where execution_id = $1', [executionId]);
    expect(blobs.rows).toEqual([{ size: BIG_SIZE, length: BIG_SIZE }, { size: BIG_SIZE, length: BIG_SIZE }]);

    // Hot state: node a's entry, and every key of the execution but the blobs themselves (and the
    // event stream, below); `results` holds the ten results of the flow, each a few hundred bytes.
    const results = `${prefix}:{${executionId}}:results`;
    expect(await redis.hstrlen(results, 'a')).toBeLessThan(SMALL);
    expect(JSON.parse((await redis.hget(results, 'a')) ?? 'null')).toMatchObject({ status: 'completed', output: placeholder });
    expect(await redis.hlen(results)).toBe(10);
    for (const name of ['meta', 'results', 'status', 'pending', 'taken', 'children', 'spent', 'maps', 'items', 'slots']) {
      const key = `${prefix}:{${executionId}}:${name}`;
      expect(await redis.memory('USAGE', key) ?? 0, key).toBeLessThan(name === 'results' ? 4 * SMALL : SMALL);
    }
    expect(await redis.memory('USAGE', results)).toBeGreaterThan(0);
    expect(await redis.hlen(`${prefix}:{${executionId}}:blobs`)).toBe(2);

    // The execution's node jobs, in their types' queues (BullMQ keeps a completed job an hour): their data. With eager
    // dispatch the downstream node may have run inside its parent's job, so every job is checked.
    const jobKeys = (await redis.keys(`{${prefix}}:weft-nodes-*:${executionId}.*`)).filter((k) => !k.endsWith(':logs') && !k.endsWith(':lock'));
    expect(jobKeys.length).toBeGreaterThan(0);
    for (const jobKey of jobKeys) {
      const jobData = await redis.hget(jobKey, 'data');
      expect(jobData, jobKey).not.toBeNull();
      expect(jobData?.length, jobKey).toBeLessThan(SMALL);
      expect(await redis.memory('USAGE', jobKey), jobKey).toBeLessThan(SMALL);
    }

    // The event stream, and what was published live.
    const stream = await redis.xrange(`${prefix}:{${executionId}}:events`, '-', '+');
    expect(stream.length).toBeGreaterThan(5);
    for (const [id, fields] of stream) expect(fields.join('').length, id).toBeLessThan(SMALL);
    const live = published.map((m) => ({ size: m.length, event: JSON.parse(m) as { type: string; nodeId?: string; executionId: string; data: { output?: unknown } } }))
      .filter((m) => m.event.executionId === executionId);
    const completedA = live.find((m) => m.event.type === 'node.completed' && m.event.nodeId === 'a');
    expect(completedA?.event.data.output).toEqual(placeholder);
    for (const m of live) expect(m.size, m.event.type).toBeLessThan(SMALL);

    // The flush stream: every entry appended, as Redis received it (the flusher deletes entries it acknowledged).
    const flushAppends = commands.filter((c) => c.args[0]?.toLowerCase() === 'xadd' && c.args[1] === `${prefix}:flush`);
    expect(flushAppends.length).toBeGreaterThanOrEqual(3);
    for (const c of flushAppends) expect(c.bytes).toBeLessThan(SMALL);
    for (const [id, fields] of await redis.xrange(`${prefix}:flush`, '-', '+')) expect(fields.join('').length, id).toBeLessThan(SMALL);
    // The only commands that carried the bytes: the two blob writes.
    const carriers = commands.filter((c) => c.bytes > CARRIES_BYTES).map((c) => `${c.args[0]?.toLowerCase() ?? ''} ${c.args[1] ?? ''}`);
    expect(carriers).toEqual([`hset ${prefix}:{${executionId}}:blobs`, `hset ${prefix}:{${executionId}}:blobs`]);

    // The execution document shows placeholders; ?include=outputs inlines the values.
    const doc = await call('GET', `/v1/executions/${executionId}`);
    expect(doc.status).toBe(200);
    expect(JSON.stringify(doc.body).length).toBeLessThan(2 * SMALL);
    const outputsOf = (body: { nodes: Array<{ nodeId: string; output: unknown }> }): Record<string, unknown> =>
      Object.fromEntries(body.nodes.filter((n) => ['a', 'b', 'd'].includes(n.nodeId)).map((n) => [n.nodeId, n.output]));
    expect(doc.body.output).toEqual({ b: READ_BACK, d: placeholder, yes: 'taken', m: mapOutput });
    expect(outputsOf(doc.body)).toEqual({ a: placeholder, b: READ_BACK, d: placeholder });
    const full = await call('GET', `/v1/executions/${executionId}?include=outputs`);
    expect(full.status).toBe(200);
    expect(full.body.output).toEqual({ b: READ_BACK, d: BIG, yes: 'taken', m: mapOutput });
    expect(outputsOf(full.body)).toEqual({ a: BIG, b: READ_BACK, d: BIG });
    expect((await call('GET', `/v1/executions/${executionId}?include=everything`)).status).toBe(400);

    // Hot state gone (Redis lost it, or its TTL ran out): references resolve from Postgres, for
    // the api and for a node that reads them (a single-node run presets a's newest output).
    await redis.del(`${prefix}:{${executionId}}:blobs`);
    expect((await call('GET', `/v1/executions/${executionId}?include=outputs`)).body.output).toEqual({ b: READ_BACK, d: BIG, yes: 'taken', m: mapOutput });
    const single = await call('POST', `/v1/flows/${flowId}/nodes/b/runs`, { wait: true, timeoutMs: 60_000 });
    expect(single.status, JSON.stringify(single.body)).toBe(200);
    expect(single.body.nodes.map((n: { nodeId: string; output: unknown }) => [n.nodeId, n.output])).toEqual([['b', READ_BACK]]);

    // Counted, with bounded labels.
    const metrics = await (await fetch(`http://127.0.0.1:${stack.workers[0]?.port ?? 0}/metrics`)).text();
    expect(metrics).toMatch(/^weft_outputs_offloaded_total\{node_type="transform",field="output"[^}]*\} 2$/m);
    expect(metrics).toMatch(new RegExp(`^weft_outputs_offloaded_bytes_total\\{node_type="transform",field="output"[^}]*\\} ${2 * BIG_SIZE}$`, 'm'));
    expect(metrics).toMatch(/^weft_output_refs_resolved_total\{source="postgres"[^}]*\} [1-9]/m);
  }, 180_000);
});
